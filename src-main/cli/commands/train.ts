// `lmwb train`: trains a transformer LM. Either a run folder (`--run-dir`: its config.json; resumes from its
// newest valid checkpoint), or a config (`--config F` / `--preset NAME`, `--set k=v` overrides) for which a run
// folder is made in the workspace. `--events ndjson` prints every TrainEvent as one JSON line on stdout (for a
// supervisor: the queue worker, the app); the human lines always go to stderr.
import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { applyOverrides, loadRunConfigFile, parseRunConfig, resolvedConfigJson, type RunConfig } from '../../engine/train/run-config';
import { readConfig } from '../../runs/read';
import { hasStatus, updateStatus } from '../../runs/status';
import { preset, PRESET_NAMES } from '../../engine/train/presets';
import { train, type TrainResult } from '../../engine/train/trainer';
import { createRunFolder, loadRunFolderConfig, rewriteRunConfig } from '../../engine/train/run-folder';
import type { TrainEvent, TrainStartEvent } from '../../engine/train/events';
import { RUN_FILES } from '../../runs/format';
import { createProgress, formatDuration, type Progress } from '../progress';
import { UserError, errorInfo } from '../../util/errors';
import { resolveWorkspace } from '../../util/paths';

const collect = (v: string, prev: string[]) => [...prev, v];

function fmtTps(x: number): string {
  return x >= 1e6 ? `${(x / 1e6).toFixed(2)}M` : x >= 1e3 ? `${(x / 1e3).toFixed(1)}k` : x.toFixed(0);
}

const fmtLoss = (x: number | null | undefined) => (x === null || x === undefined || !Number.isFinite(x) ? String(x ?? 'NaN') : x.toFixed(4));

/** The start event in words: what trains where, in which precision and why. */
export function describeStart(e: TrainStartEvent, name: string): string[] {
  const why = e.precision_reason === 'config' ? 'as configured'
    : e.precision_reason === 'auto-tensor-cores' ? 'auto: this GPU has f16 tensor cores'
      : 'auto: this adapter has no f16 subgroup matrices';
  const prec = e.precision === 'mixed'
    ? 'mixed (f16 tensor-core matmuls and attention with f32 accumulation, f32 weights and optimizer state, dynamic loss scaling)'
    : 'f32';
  const bounds = e.bounds_checks ? "Dawn's bounds clamping on (LMWB_SAFE_KERNELS=1)" : "Dawn's bounds clamping off (faster; LMWB_SAFE_KERNELS=1 turns it on)";
  return [
    `run ${name} → ${e.run_dir}`,
    `device: ${e.device.name}${e.device.software ? ' (software adapter)' : ''}; precision ${prec} (${why}); ${bounds}`,
    `model: ${(e.parameters / 1e6).toFixed(2)}M parameters (${(e.non_embedding_parameters / 1e6).toFixed(2)}M non-embedding); ` +
      `${e.steps} steps × ${e.tokens_per_step} tokens = ${((e.steps * e.tokens_per_step) / 1e6).toFixed(2)}M tokens; train file ${(e.train_tokens / 1e6).toFixed(2)}M tokens` +
      (e.logits_chunk_rows < e.tokens_per_step ? `; LM head in ${Math.ceil(e.tokens_per_step / e.logits_chunk_rows)} chunks of ${e.logits_chunk_rows} rows` : '') +
      (e.start_step ? `; resuming at step ${e.start_step}${e.resumed_from ? ` from ${e.resumed_from}` : ''}` : ''),
  ];
}

interface TrainFlags {
  config?: string;
  preset?: string;
  set: string[];
  resume?: string;
  out?: string;
  runDir?: string;
  events?: string;
  workspace?: string;
  overfitOneBatch?: boolean;
}

export function registerTrain(program: Command): void {
  program
    .command('train')
    .description('train a transformer LM on uint16 token files (makes or continues a run folder)')
    .option('-c, --config <file>', 'run config (JSON)')
    .option('-p, --preset <name>', `start from a preset (${PRESET_NAMES.join(', ')})`)
    .option('-s, --set <key=value>', 'override a config value, e.g. training.batch_size=32 (repeatable)', collect, [])
    .option('-r, --resume <checkpoint-or-run-dir>', 'continue from a checkpoint (or the newest valid one in a run folder)')
    .option('-o, --out <dir>', 'run folder (default <workspace>/runs/<name>-<date-time>, or the config\'s out_dir)')
    .option('--run-dir <dir>', 'train the run in this folder (its config.json), resuming from its newest valid checkpoint')
    .option('--events <format>', 'print every training event on stdout, one JSON object per line (format: ndjson)')
    .option('-w, --workspace <dir>', 'workspace folder (default $LMWB_HOME, else the current folder)')
    .option('--overfit-one-batch', 'debugging: train on one fixed batch (the loss should go to near zero)')
    .action(async (o: TrainFlags) => {
      if (o.events !== undefined && o.events !== 'ndjson') throw new UserError(`--events takes "ndjson", got "${o.events}"`, { code: 'INVALID_ARGUMENT' });
      const ndjson = o.events === 'ndjson';
      let errorEmitted = false;
      let trainStarted = false;
      const print = (e: TrainEvent) => {
        trainStarted = true;
        if (e.type === 'error') errorEmitted = true;
        if (ndjson) process.stdout.write(`${JSON.stringify(e, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v))}\n`);
      };
      try {
        await run(o, print);
      } catch (e) {
        // train() records its own failures in status.json; one before it (an invalid config.json) is recorded here.
        if (o.runDir && !trainStarted && hasStatus(resolve(o.runDir))) {
          try {
            updateStatus(resolve(o.runDir), { state: 'failed', ended: new Date().toISOString(), error: errorInfo(e) });
          } catch {
            /* best effort: the error itself is what matters */
          }
        }
        // A diverged run already ended with its done event (state diverged); other errors end with an error event.
        if (ndjson && !errorEmitted && !(e instanceof UserError && e.code === 'DIVERGED')) print({ type: 'error', error: errorInfo(e) });
        throw e;
      }
    });
}

/** The run folder and config for the flags: --run-dir as it is, else a new (or --resume'd) folder. */
function prepareRun(o: TrainFlags): { cfg: RunConfig; runDir: string; resume: 'auto' | string } {
  if (o.runDir) {
    if (o.config || o.preset || o.set.length || o.out || o.overfitOneBatch) {
      throw new UserError('--run-dir trains the run as its config.json says: leave out --config, --preset, --set, --out and --overfit-one-batch', { code: 'INVALID_ARGUMENT' });
    }
    const runDir = resolve(o.runDir);
    return { cfg: loadRunFolderConfig(runDir), runDir, resume: o.resume ?? 'auto' };
  }
  if (!o.config && !o.preset) throw new UserError('give --config FILE, --preset NAME or --run-dir DIR (try `lmwb train --preset smoke`)', { code: 'INVALID_ARGUMENT' });
  if (o.config && o.preset) throw new UserError('give either --config or --preset, not both', { code: 'INVALID_ARGUMENT' });
  const workspace = resolveWorkspace(o.workspace, process.cwd());
  const base = o.config ? loadRunConfigFile(o.config) : (preset(o.preset!, { workspace }) as Record<string, unknown>);
  const sets = [...o.set, ...(o.overfitOneBatch ? ['training.overfit_one_batch=true'] : [])];
  const cfg = parseRunConfig(applyOverrides(base, sets));
  // --out is a path as typed (relative to the current folder); a config's out_dir is relative to the workspace.
  const target = o.out ? resolve(o.out) : cfg.out_dir ? resolve(workspace, cfg.out_dir) : undefined;
  if (target && existsSync(join(target, RUN_FILES.config))) {
    if (!o.resume) {
      // The same config again: continue that run (as --run-dir would). Another config: refuse to mix two runs.
      if (JSON.stringify(readConfig(target)) === JSON.stringify(resolvedConfigJson(cfg))) return { cfg, runDir: target, resume: 'auto' };
      throw new UserError(`run folder ${target} already holds a run with another config: continue it with --resume ${target} (its config.json then follows this config), or choose another folder`, { code: 'FILE_EXISTS', data: { dir: target } });
    }
    // A resume may change the config (more steps, say): config.json follows it and the old one is kept.
    rewriteRunConfig(target, cfg);
    return { cfg, runDir: target, resume: o.resume };
  }
  const { dir } = createRunFolder(workspace, { ...cfg, out_dir: target });
  return { cfg, runDir: dir, resume: o.resume ?? 'auto' };
}

async function run(o: TrainFlags, print: (e: TrainEvent) => void): Promise<void> {
  const { cfg, runDir, resume } = prepareRun(o);
  const abort = new AbortController();
  let interrupts = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    interrupts++;
    if (interrupts === 1) {
      process.stderr.write(`\n${sig === 'SIGINT' ? 'interrupt' : sig}: finishing this step and saving a checkpoint${sig === 'SIGINT' ? ' (Ctrl-C again to quit at once)' : ''}\n`);
      abort.abort();
    } else if (sig === 'SIGINT') {
      process.exit(130);
    }
    // A repeated SIGTERM is ignored: supervisors and Slurm (which signals every process of a job it cancels or
    // requeues, while the job's worker forwards its own) may send several, and the checkpoint must still be written.
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  let bar: Progress | undefined;
  let total = 0;
  const tty = process.stderr.isTTY && !o.events;
  const say = (line: string) => {
    if (bar && tty) process.stderr.write(`\r\x1b[K${line}\n`);
    else process.stderr.write(`${line}\n`);
  };
  const human = (e: TrainEvent) => {
    switch (e.type) {
      case 'start':
        for (const l of describeStart(e, cfg.name)) say(l);
        if (tty) {
          bar = createProgress({ unit: 'steps', label: 'train', total: e.steps });
          bar.update(e.start_step);
        }
        total = e.steps;
        break;
      case 'log': {
        const r = e.record;
        const stats = `loss ${fmtLoss(r.loss)} | lr ${r.lr.toExponential(2)} | ${fmtTps(r.tokens_per_s)} tok/s`;
        if (bar) bar.update(r.step, `| ${stats}`);
        else say(`step ${r.step}/${total} | ${stats} | grad norm ${fmtLoss(r.grad_norm).replace(/(\.\d{3})\d$/, '$1')}${r.loss_scale !== undefined ? ` | loss scale ${r.loss_scale}${r.skipped ? ' (overflow: step skipped)' : ''}` : ''} | ETA ${formatDuration(e.eta_s)}`);
        break;
      }
      case 'eval':
        say(`eval  step ${e.record.step}: val loss ${fmtLoss(e.record.val_loss)} (${e.record.val_tokens} tokens)`);
        break;
      case 'checkpoint':
        say(`saved ${e.path}`);
        break;
      case 'warning':
        say(`warning: ${e.message}`);
        break;
      default:
        break;
    }
  };
  let result: TrainResult;
  try {
    result = await train(cfg, {
      runDir, resume, signal: abort.signal,
      // LMWB_STEP_DELAY_MS: a pause after each step, for tests that act on a training run (see TrainOptions).
      stepDelayMs: Number(process.env.LMWB_STEP_DELAY_MS ?? 0) || 0,
      onEvent: (e) => {
        print(e);
        human(e);
      },
    });
  } finally {
    bar?.stop();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  const summary =
    `${result.state === 'paused' ? 'paused' : result.state}: step ${result.finalStep}, train loss ${fmtLoss(result.finalLoss)}` +
    (result.finalValLoss !== undefined ? `, val loss ${fmtLoss(result.finalValLoss)}` : '') +
    (result.lastCheckpoint ? `, checkpoint ${result.lastCheckpoint}` : '') + '\n';
  // stdout carries only events in ndjson mode.
  (o.events ? process.stderr : process.stdout).write(summary);
  if (result.state === 'diverged') throw new UserError(result.divergence?.message ?? 'training diverged', { code: 'DIVERGED', data: result.divergence?.data ?? {} });
}
