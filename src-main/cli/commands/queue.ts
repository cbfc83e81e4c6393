// `lmwb queue add|list|move|cancel|pause|resume|work`: the workspace's run queue and its worker (one child trainer
// per run; restarts after crashes; Ctrl-C checkpoints the current run and puts it back in the queue).
import type { Command } from 'commander';
import { loadRunConfigFile } from '../../engine/train/run-config';
import { UserError } from '../../util/errors';
import { resolveRunConfig } from '../../runs/configs';
import { basePreset } from '../../runs/sweep-presets';
import { createRun, resolveRun } from '../../runs/store';
import { listRuns } from '../../runs/index';
import { requestStop, requeue, waitForState, type RequestAction } from '../../runs/queue';
import { moveInQueue, queueOrder, type QueuePlace } from '../../runs/order';
import { runWorker, type WorkerEvent } from '../../runs/worker';
import { LocalBackend } from '../../runs/backend';
import { parseGpuList } from '../../engine/gpu/select';
import { cancelSlurmRun, slurmScript, slurmViews, submitNewRuns, timeLimitFor } from '../../runs/slurm/jobs';
import { readStatus, runDir } from '../../runs/read';
import { addSlurmOptions, describeSubmitted, slurmSubmitOptions, type SlurmCliOpts } from './slurm-options';
import { collect, table, workspaceOf, WORKSPACE_HELP, type WorkspaceOpt } from './runs';

/** The base config of a run or sweep: a config file (data paths relative to the current folder) or a trainer preset (relative to the workspace). */
export function loadBase(o: { config?: string; preset?: string }, ws: string): { base: Record<string, unknown>; baseDir: string } {
  if (o.config && o.preset) throw new UserError('give either --config or --preset, not both', { code: 'INVALID_ARGUMENT' });
  if (o.config) return { base: loadRunConfigFile(o.config), baseDir: process.cwd() };
  if (o.preset) return { base: basePreset(o.preset, ws), baseDir: ws };
  throw new UserError('give --config FILE or --preset NAME', { code: 'INVALID_ARGUMENT' });
}

const fmtLoss = (v: number | null | undefined) => (typeof v === 'number' && Number.isFinite(v) ? v.toFixed(4) : String(v));

/** One line per worker event, for a terminal or a log file. */
export function describeWorkerEvent(e: WorkerEvent): string | undefined {
  switch (e.type) {
    case 'claimed':
      return `[${e.id}] taken by ${e.slot}${e.takeover ? ' (its previous worker died)' : ''}`;
    case 'trainer-start':
      return `[${e.id}] trainer pid ${e.pid ?? '?'} (attempt ${e.attempt})`;
    case 'restart':
      return `[${e.id}] trainer died (${e.reason}); restart ${e.restart}/${e.retries} from step ${e.from_step}`;
    case 'finished':
      return `[${e.id}] ${e.state}${e.error ? `: ${e.error.message}` : ''}`;
    case 'cancelled-by-sweep':
      return `[${e.id}] ${e.reason}: ${e.ids.join(', ')}`;
    case 'store-error':
      return `[${e.id}] cannot update the run folder: ${e.error.message}`;
    case 'idle':
      return `${e.slot}: queue empty, waiting for runs (Ctrl-C to stop)`;
    case 'output':
      return `[${e.id}] ${e.line}`;
    case 'train': {
      const t = e.event;
      switch (t.type) {
        case 'start':
          return `[${e.id}] ${t.start_step ? `resuming at step ${t.start_step}` : 'starting'} of ${t.steps} on ${t.device.name} (${t.precision})`;
        case 'log':
          return `[${e.id}] step ${t.record.step} | loss ${fmtLoss(t.record.loss)} | lr ${t.record.lr.toExponential(2)} | ${Math.round(t.record.tokens_per_s)} tok/s`;
        case 'eval':
          return `[${e.id}] eval step ${t.record.step}: val loss ${fmtLoss(t.record.val_loss)}`;
        case 'checkpoint':
          return `[${e.id}] checkpoint step ${t.step}`;
        case 'warning':
          return `[${e.id}] warning: ${t.message}`;
        case 'error':
          return `[${e.id}] error: ${t.error.message}`;
        default:
          return undefined;
      }
    }
  }
}

export function registerQueue(program: Command): void {
  const queue = program.command('queue').description('queue runs and train them one after another (crash-proof)');

  addSlurmOptions(queue
    .command('add')
    .description('queue a run; prints its id')
    .option('-w, --workspace <dir>', WORKSPACE_HELP)
    .option('-c, --config <file>', 'run config (JSON)')
    .option('-p, --preset <name>', 'start from a trainer preset')
    .option('-s, --set <key=value>', 'override a config value (repeatable)', collect, [])
    .option('-u, --unset <key>', 'remove a key of the base config, e.g. training.max_steps to give total_tokens instead (repeatable)', collect, [])
    .option('-n, --name <name>', 'run name')
    .option('--dry-run', 'Slurm: print the sbatch script, queue and submit nothing'))
    .action(async (o: WorkspaceOpt & SlurmCliOpts & { config?: string; preset?: string; set: string[]; unset: string[]; name?: string; dryRun?: boolean }) => {
      const ws = workspaceOf(o);
      const { base, baseDir } = loadBase(o, ws);
      const config = resolveRunConfig(base, { sets: o.set, unset: o.unset, name: o.name, baseDir });
      const slurm = slurmSubmitOptions(o);
      if (slurm) {
        if (o.dryRun) {
          process.stdout.write(slurmScript(ws, ['RUN_ID'], { ...slurm, timeLimitS: slurm.timeLimitS ?? timeLimitFor([config]) }));
          process.stderr.write('dry run: RUN_ID stands for the id the run gets when it is queued; nothing was queued or submitted\n');
          return;
        }
        const sub = await submitNewRuns(ws, () => ({ ids: [createRun(ws, { config }).id], configs: [config] }), slurm);
        process.stderr.write(`${describeSubmitted(sub)}\n`);
        process.stdout.write(`${sub.runs[0].id}\n`);
        return;
      }
      if (o.dryRun) throw new UserError('--dry-run prints the sbatch script of --backend slurm', { code: 'INVALID_ARGUMENT' });
      const { id } = createRun(ws, { config });
      process.stdout.write(`${id}\n`);
    });

  queue
    .command('list')
    .description('queued, running and paused runs, in the order workers take them')
    .option('-w, --workspace <dir>', WORKSPACE_HELP)
    .option('--all', 'finished runs too')
    .option('--json', 'one JSON array')
    .action(async (o: WorkspaceOpt & { all?: boolean; json?: boolean }) => {
      const order = { running: 0, queued: 1, paused: 2 } as Record<string, number>;
      const ws = workspaceOf(o);
      const all = listRuns(ws);
      // Runs on a Slurm cluster: Slurm's word where status.json has nothing newer (a pending job, a cancelled one).
      const views = await slurmViews(ws, all.filter((r) => !['done', 'failed', 'diverged', 'cancelled'].includes(r.state)).map((r) => r.id));
      const where = (id: string) => readStatus(runDir(ws, id))?.backend ?? '';
      const list = all
        .map((r) => {
          const v = views.get(r.id);
          return v ? { ...r, state: v.state, slurm: v.slurm, backend: `slurm:${v.job}` } : { ...r, backend: where(r.id) || undefined };
        })
        .filter((r) => o.all || r.state in order)
        .sort((a, b) => (order[a.state] ?? 3) - (order[b.state] ?? 3) || queueOrder(a, b));
      if (o.json) {
        process.stdout.write(`${JSON.stringify(list)}\n`);
        return;
      }
      if (!list.length) {
        process.stdout.write('the queue is empty\n');
        return;
      }
      process.stdout.write(`${table(['ID', 'STATE', 'STEP', 'ATTEMPTS', 'PID', 'WHERE', 'SWEEP'], list.map((r) => [
        r.id, r.state, r.step !== undefined ? `${r.step}${r.total_steps ? `/${r.total_steps}` : ''}` : '-', String(r.attempts), r.pid ? String(r.pid) : '-',
        'slurm' in r ? `${r.backend} ${r.slurm}` : (r.backend ?? '-'), r.sweep?.name ?? '',
      ]))}\n`);
    });

  queue
    .command('move <id>')
    .description('change where a queued run is in the queue (workers take it in the new order)')
    .option('-w, --workspace <dir>', WORKSPACE_HELP)
    .option('--top', 'first in the queue')
    .option('--bottom', 'last in the queue')
    .option('--before <id>', 'just before this queued run')
    .option('--after <id>', 'just after this queued run')
    .action(async (ref: string, o: WorkspaceOpt & { top?: boolean; bottom?: boolean; before?: string; after?: string }) => {
      const ws = workspaceOf(o);
      const given = [o.top, o.bottom, o.before, o.after].filter((x) => x !== undefined).length;
      if (given !== 1) throw new UserError('give exactly one of --top, --bottom, --before ID, --after ID', { code: 'INVALID_ARGUMENT' });
      const { id } = resolveRun(ws, ref);
      const place: QueuePlace = o.top ? { to: 'top' } : o.bottom ? { to: 'bottom' } : o.before !== undefined
        ? { to: 'before', ref: resolveRun(ws, o.before).id }
        : { to: 'after', ref: resolveRun(ws, o.after!).id };
      const ids = await moveInQueue(ws, id, place);
      process.stdout.write(`${ids.map((x, i) => `${i + 1}. ${x}`).join('\n')}\n`);
    });

  const stopCommand = (action: RequestAction, description: string) =>
    queue
      .command(`${action} <id>`)
      .description(description)
      .option('-w, --workspace <dir>', WORKSPACE_HELP)
      .option('--no-wait', 'return at once instead of waiting until the trainer has stopped')
      .option('--timeout <seconds>', 'how long to wait for the trainer to stop', '600')
      .action(async (ref: string, o: WorkspaceOpt & { wait: boolean; timeout: string }) => {
        const ws = workspaceOf(o);
        const { id, dir } = resolveRun(ws, ref);
        if (action === 'cancel' && readStatus(dir)?.backend?.startsWith('slurm:')) {
          process.stderr.write(`${id}: cancelling its Slurm job (${readStatus(dir)?.backend})…\n`);
          process.stdout.write(`${id}: ${await cancelSlurmRun(ws, id, { timeoutMs: Number(o.timeout) * 1000 })}\n`);
          return;
        }
        const r = await requestStop(ws, id, action);
        if (!r.requested) {
          process.stdout.write(`${id}: ${r.state}\n`);
          return;
        }
        if (!o.wait) {
          process.stdout.write(`${id}: asked its worker to ${action} it (it checkpoints first)\n`);
          return;
        }
        process.stderr.write(`${id}: waiting for the trainer to checkpoint and stop…\n`);
        const state = await waitForState(ws, id, Number(o.timeout) * 1000);
        process.stdout.write(`${id}: ${state ?? 'unknown'}\n`);
      });
  stopCommand('pause', 'pause a run: a running trainer checkpoints and stops; `queue resume` continues it bit for bit');
  stopCommand('cancel', 'cancel a run (a running trainer checkpoints and stops first)');

  queue
    .command('resume <id>')
    .description('put a paused, cancelled or failed run back in the queue (it resumes from its newest checkpoint)')
    .option('-w, --workspace <dir>', WORKSPACE_HELP)
    .action(async (ref: string, o: WorkspaceOpt) => {
      const ws = workspaceOf(o);
      const { id } = resolveRun(ws, ref);
      const s = await requeue(ws, id);
      process.stdout.write(`${id}: ${s.state}\n`);
    });

  queue
    .command('work')
    .description('train queued runs one at a time, each in its own trainer process')
    .option('-w, --workspace <dir>', WORKSPACE_HELP)
    .option('--until-empty', 'stop when the queue is empty (default: wait for new runs)')
    .option('--retries <n>', 'restarts of a crashed trainer before its run is marked failed', '3')
    .option('--poll <ms>', 'how often to look for new runs and for pause/cancel requests', '1000')
    .option('--json', 'print worker events as JSON lines instead of text')
    .option('--only <id>', 'train exactly this run (what a Slurm job runs), then stop')
    .option('--backend-ref <ref>', 'where the runs train, recorded in status.json (default "local", or "local:gpuN")')
    .option('--gpus <list>', 'one trainer per GPU: "all" or indices like 0,1 (each trainer pinned to its GPU)')
    .action(async (o: WorkspaceOpt & { untilEmpty?: boolean; retries: string; poll: string; json?: boolean; only?: string; backendRef?: string; gpus?: string }) => {
      const ws = workspaceOf(o);
      const retries = Number(o.retries);
      if (!Number.isInteger(retries) || retries < 0) throw new UserError(`--retries must be a whole number ≥ 0, got "${o.retries}"`, { code: 'INVALID_ARGUMENT' });
      const abort = new AbortController();
      let signals = 0;
      const onSignal = () => {
        signals++;
        if (signals === 1) {
          process.stderr.write('\nstopping: the current run checkpoints and goes back to the queue (again to quit at once)\n');
          abort.abort();
        } else process.exit(130);
      };
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      const finished = await runWorker({
        workspace: ws,
        backend: new LocalBackend({ cwd: ws, gpus: o.gpus ? parseGpuList(o.gpus) : undefined }),
        only: o.only ? resolveRun(ws, o.only).id : undefined,
        backendRef: o.backendRef,
        retries,
        untilEmpty: o.untilEmpty,
        pollMs: Number(o.poll),
        signal: abort.signal,
        onEvent: (e) => {
          if (o.json) process.stdout.write(`${JSON.stringify(e)}\n`);
          else {
            const line = describeWorkerEvent(e);
            if (line) process.stdout.write(`${line}\n`);
          }
        },
      });
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      const counts = new Map<string, number>();
      for (const f of finished) counts.set(f.state, (counts.get(f.state) ?? 0) + 1);
      process.stderr.write(`worker done: ${finished.length} run${finished.length === 1 ? '' : 's'}${counts.size ? ` (${[...counts].map(([s, n]) => `${n} ${s}`).join(', ')})` : ''}\n`);
    });
}
