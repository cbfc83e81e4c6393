// `lmwb runs list|show|diff|export|tag|note|import`: the run store of a workspace (--workspace, LMWB_HOME, or the
// current folder), as tables for people and --json for programs.
import type { Command } from 'commander';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { resolveWorkspace } from '../../util/paths';
import { UserError } from '../../util/errors';
import { writeFileAtomic } from '../../util/atomic-write';
import { listRuns, type RunSummary } from '../../runs/index';
import { readConfig, readMeta, readMetrics, readStatus } from '../../runs/read';
import { slurmViews } from '../../runs/slurm/jobs';
import { diffConfigs } from '../../runs/diff';
import { addNote, addTags, removeTags, resolveRun } from '../../runs/store';
import { exportRun, importTrackerRun } from '../../runs/transfer';
import { RUN_FILES } from '../../runs/format';
import { readClaim } from '../../runs/queue';

export interface WorkspaceOpt {
  workspace?: string;
}

/** The workspace a command works in: --workspace, else LMWB_HOME, else the current folder. */
export function workspaceOf(o: WorkspaceOpt): string {
  return resolveWorkspace(o.workspace, process.cwd());
}

export const WORKSPACE_HELP = 'workspace folder (default: $LMWB_HOME, else the current folder)';

const fmtNum = (v: number | undefined, digits = 4) => (v === undefined || !Number.isFinite(v) ? '-' : v.toFixed(digits));
const fmtRate = (x: number | undefined) => (x === undefined ? '-' : x >= 1e6 ? `${(x / 1e6).toFixed(2)}M` : x >= 1e3 ? `${(x / 1e3).toFixed(1)}k` : x.toFixed(0));
const fmtSecs = (s: number | undefined) => (s === undefined ? '-' : s >= 3600 ? `${(s / 3600).toFixed(1)}h` : s >= 60 ? `${(s / 60).toFixed(1)}m` : `${s.toFixed(0)}s`);

/** A plain aligned table (no colour: output is often piped). */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => r.map((c, i) => (i === r.length - 1 ? c : (c ?? '').padEnd(widths[i]))).join('  ').trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

function summaryRow(r: RunSummary): string[] {
  return [
    r.id, r.state, r.step !== undefined ? `${r.step}${r.total_steps ? `/${r.total_steps}` : ''}` : '-', fmtNum(r.best_val_loss), fmtNum(r.final_val_loss),
    r.lr !== undefined ? String(r.lr) : '-', r.batch_size !== undefined ? String(r.batch_size) : '-', fmtRate(r.tokens_per_s), fmtSecs(r.elapsed_s),
    [r.sweep ? `sweep:${r.sweep.name}` : '', ...r.tags].filter(Boolean).join(' '),
  ];
}

const collect = (v: string, prev: string[]) => [...prev, v];

export function registerRuns(program: Command): void {
  const runs = program.command('runs').description('list, inspect, compare, export and import the runs of a workspace');

  runs
    .command('list')
    .description('every run: state, progress, val loss, lr, batch, speed')
    .option('-w, --workspace <dir>', WORKSPACE_HELP)
    .option('--state <state>', 'only runs in this state (queued, running, done, failed, diverged, cancelled, paused)')
    .option('--sweep <name>', 'only the runs of this sweep')
    .option('--tag <tag>', 'only runs with this tag')
    .option('--json', 'one JSON array of run summaries')
    .action((o: WorkspaceOpt & { state?: string; sweep?: string; tag?: string; json?: boolean }) => {
      let list = listRuns(workspaceOf(o));
      if (o.state) list = list.filter((r) => r.state === o.state);
      if (o.sweep) list = list.filter((r) => r.sweep?.name === o.sweep || r.group === o.sweep);
      if (o.tag) list = list.filter((r) => r.tags.includes(o.tag!));
      if (o.json) {
        process.stdout.write(`${JSON.stringify(list)}\n`);
        return;
      }
      if (!list.length) {
        process.stdout.write(`no runs in ${workspaceOf(o)}\n`);
        return;
      }
      process.stdout.write(`${table(['ID', 'STATE', 'STEP', 'BEST VAL', 'FINAL VAL', 'LR', 'BATCH', 'TOK/S', 'TIME', 'SWEEP/TAGS'], list.map(summaryRow))}\n`);
    });

  runs
    .command('show <id>')
    .description('one run: status (pid and host while running, attempts, restarts), meta, config, metrics and checkpoints')
    .option('-w, --workspace <dir>', WORKSPACE_HELP)
    .option('--json', 'one JSON object')
    .action(async (ref: string, o: WorkspaceOpt & { json?: boolean }) => {
      const ws = workspaceOf(o);
      const { id, dir } = resolveRun(ws, ref);
      const status = readStatus(dir);
      const slurm = (await slurmViews(ws, [id])).get(id);
      const meta = readMeta(dir);
      const config = readConfig(dir);
      const m = readMetrics(dir);
      const train = m.records.filter((r) => r.kind === 'train');
      const evals = m.records.filter((r) => r.kind === 'eval');
      const ckDir = join(dir, RUN_FILES.checkpoints);
      const checkpoints = existsSync(ckDir)
        ? readdirSync(ckDir).filter((f) => f.endsWith('.safetensors')).sort().map((f) => ({ file: f, bytes: statSync(join(ckDir, f)).size }))
        : [];
      const claim = readClaim(dir);
      const info = {
        id, dir, status, meta, config, claim, ...(slurm ? { slurm } : {}),
        metrics: { train_lines: train.length, eval_lines: evals.length, skipped: m.skipped, torn_tail: m.tornTail, last_train: train[train.length - 1], last_eval: evals[evals.length - 1] },
        checkpoints,
      };
      if (o.json) {
        process.stdout.write(`${JSON.stringify(info, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v))}\n`);
        return;
      }
      const s = status;
      const lines = [
        `run ${id}  (${meta?.name ?? '-'})`,
        `  folder     ${dir}`,
        `  state      ${slurm?.state ?? s?.state ?? 'unknown'}${s?.state === 'running' && s.pid ? ` (trainer pid ${s.pid} on ${s.host ?? '?'}${claim ? `, worker ${claim.worker}` : ''})` : ''}`,
        ...(slurm ? [`  slurm      job ${slurm.job}: ${slurm.slurm}`] : s?.backend ? [`  where      ${s.backend}${s.gpu ? `, ${s.gpu}` : ''}`] : []),
        `  progress   step ${s?.step ?? '-'}${s?.total_steps ? ` of ${s.total_steps}` : ''}, ${fmtRate(s?.tokens_per_s)} tok/s, ${fmtSecs(s?.elapsed_s)} training time`,
        `  loss       final train ${fmtNum(s?.final_loss)}, best val ${fmtNum(s?.best_val_loss)}, final val ${fmtNum(s?.final_val_loss)}`,
        `  attempts   ${s?.attempts ?? 0}; restarts ${s?.restarts.length ?? 0}`,
        ...(s?.restarts ?? []).map((r) => `    ${r.time}  from step ${r.from_step}: ${r.reason}`),
        `  times      created ${s?.created ?? '-'}${s?.started ? `, started ${s.started}` : ''}${s?.ended ? `, ended ${s.ended}` : ''}`,
        ...(s?.error ? [`  error      ${s.error.code}: ${s.error.message}`] : []),
        ...(meta?.sweep ? [`  sweep      ${meta.sweep.name}: ${Object.entries(meta.sweep.keys).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(', ')}`] : []),
        ...(meta?.tags.length ? [`  tags       ${meta.tags.join(', ')}`] : []),
        ...(meta?.imported_from ? [`  imported   ${meta.imported_from}`] : []),
        ...(meta?.notes ? [`  notes      ${meta.notes.replace(/\n/g, '\n             ')}`] : []),
        `  metrics    ${train.length} train lines, ${evals.length} eval lines${m.tornTail ? ' (torn last line ignored)' : ''}${m.skipped ? `, ${m.skipped} invalid lines skipped` : ''}`,
        `  checkpoints ${checkpoints.length ? checkpoints.map((c) => c.file).join(', ') : 'none'}`,
      ];
      process.stdout.write(`${lines.join('\n')}\n`);
    });

  runs
    .command('diff <ids...>')
    .description('the config keys that differ between runs (nested keys flattened; the first run is the baseline)')
    .option('-w, --workspace <dir>', WORKSPACE_HELP)
    .option('--json', 'one JSON object {runs, baseline, keys, values, results}')
    .action((refs: string[], o: WorkspaceOpt & { json?: boolean }) => {
      if (refs.length < 2) throw new UserError('give at least two runs to compare', { code: 'INVALID_ARGUMENT' });
      const ws = workspaceOf(o);
      const found = refs.map((r) => resolveRun(ws, r));
      const configs = found.map((f) => readConfig(f.dir) ?? {});
      const d = diffConfigs(configs, ['name']);
      const results = found.map((f) => {
        const s = readStatus(f.dir);
        return { state: s?.state, best_val_loss: s?.best_val_loss, final_val_loss: s?.final_val_loss };
      });
      if (o.json) {
        process.stdout.write(`${JSON.stringify({ runs: found.map((f) => f.id), baseline: found[0].id, keys: d.keys, values: d.values, results })}\n`);
        return;
      }
      const show = (v: unknown) => (v === undefined ? '(unset)' : JSON.stringify(v));
      const header = ['KEY', ...found.map((f, i) => (i === 0 ? `${f.id} (baseline)` : f.id))];
      const rows = d.keys.map((k) => [k, ...d.values.map((v) => show(v[k]))]);
      process.stdout.write(d.keys.length ? `${table(header, rows)}\n` : `the configs are the same (apart from the name)\n`);
      process.stdout.write(`${table(['RESULT', ...found.map((f) => f.id)], [
        ['state', ...results.map((r) => r.state ?? '-')],
        ['best val loss', ...results.map((r) => fmtNum(r.best_val_loss))],
        ['final val loss', ...results.map((r) => fmtNum(r.final_val_loss))],
      ])}\n`);
    });

  runs
    .command('export <id>')
    .description("a run's metrics as CSV (train and eval lines) or JSON lines (every record)")
    .option('-w, --workspace <dir>', WORKSPACE_HELP)
    .option('-f, --format <format>', 'csv or jsonl', 'csv')
    .option('-o, --out <file>', 'write to a file instead of stdout')
    .action((ref: string, o: WorkspaceOpt & { format: string; out?: string }) => {
      if (o.format !== 'csv' && o.format !== 'jsonl') throw new UserError(`--format must be csv or jsonl, got "${o.format}"`, { code: 'INVALID_ARGUMENT' });
      const { dir } = resolveRun(workspaceOf(o), ref);
      const text = exportRun(dir, o.format);
      if (o.out) writeFileAtomic(o.out, text);
      else process.stdout.write(text);
    });

  runs
    .command('tag <id> <tags...>')
    .description('add tags to a run (--remove takes them off)')
    .option('-w, --workspace <dir>', WORKSPACE_HELP)
    .option('--remove', 'remove these tags')
    .action((ref: string, tags: string[], o: WorkspaceOpt & { remove?: boolean }) => {
      const { id, dir } = resolveRun(workspaceOf(o), ref);
      const m = o.remove ? removeTags(dir, tags) : addTags(dir, tags);
      process.stdout.write(`${id}: tags ${m.tags.length ? m.tags.join(', ') : '(none)'}\n`);
    });

  runs
    .command('note <id> <text...>')
    .description("add a note to a run's notes")
    .option('-w, --workspace <dir>', WORKSPACE_HELP)
    .action((ref: string, text: string[], o: WorkspaceOpt) => {
      const { id, dir } = resolveRun(workspaceOf(o), ref);
      addNote(dir, text.join(' '));
      process.stdout.write(`${id}: note added\n`);
    });

  runs
    .command('import <path>')
    .description('import a run of the CS336 reference tracker (config.json + metrics.jsonl) as a finished run')
    .option('-w, --workspace <dir>', WORKSPACE_HELP)
    .option('-n, --name <name>', 'name of the imported run (default: its config name or folder name)')
    .action((path: string, o: WorkspaceOpt & { name?: string }) => {
      const r = importTrackerRun(workspaceOf(o), path, { name: o.name });
      process.stderr.write(`imported ${r.records} records${r.skipped ? ` (${r.skipped} invalid lines skipped)` : ''}\n`);
      process.stdout.write(`${r.id}\n`);
    });
}

export { collect };
