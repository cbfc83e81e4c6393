// The training loop: batches from the background loader, one recorded GPU program per step, loss read back
// only at log intervals, periodic evaluation, checkpoints (by steps and by minutes) and exact resume. It owns
// the run folder while it trains: metrics.jsonl, checkpoints/ and status.json (through runs/status.ts, shared
// with the queue worker). Front ends get TrainEvents (train/events.ts) and make the words themselves.
//
// Stopping: an aborted signal finishes the current step, saves a checkpoint and ends `paused`; the divergence
// rule ends `diverged` (metrics kept, no checkpoint of the broken weights); any error ends `failed` and is
// rethrown. Every failure path releases the GPU buffers, the device (when train opened it) and the workers.
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { hasF16TensorCores, openGpu, type Gpu, type GpuInfo } from '../gpu/device';
import { TransformerRuntime } from '../model/transformer';
import { initParameters, nonEmbeddingCount } from '../model/parameters';
import { learningRate } from '../optim/schedule';
import { BatchLoader, type LoadedBatch } from '../data/batch-loader';
import { inspectTokenFile, findOutOfRange, outOfRangeError } from '../data/token-file';
import { batchStarts } from '../data/batch';
import { STREAM_TRAIN_BATCH, STREAM_VALID_BATCH } from '../rng';
import { listCheckpoints, checkpointName } from '../checkpoint/checkpoint';
import { CheckpointWriter } from '../checkpoint/checkpoint-writer';
import { findResume, checkResumable } from './resume';
import { MetricsLog } from './metrics-log';
import { DivergenceMonitor } from './divergence';
import { diagRecord } from './diag';
import { GpuSnapshot } from '../gpu/snapshot';
import { logitsChunkBytesFor, resolvedConfigJson, type RunConfig } from './run-config';
import type { DeviceInfo, TrainEvent, TrainStartEvent } from './events';
import { FINISHED_STATES, RUN_FILES, RunMetaSchema, type EvalRecord, type TrainRecord, type RunStatus } from '../../runs/format';
import { updateStatus } from '../../runs/status';
import { readStatus } from '../../runs/read';
import { writeFileAtomic } from '../../util/atomic-write';
import { UserError, errorInfo, type ErrorCode } from '../../util/errors';


export interface TrainOptions {
  /** The run folder; default the config's out_dir (resolved against the current folder). */
  runDir?: string;
  /**
   * 'auto' (default): continue from the newest valid checkpoint in the run folder if there is one, else start
   * from scratch. A path: a checkpoint file, or a run folder (its newest valid checkpoint); NOTHING_TO_RESUME
   * when there is none. false: always from scratch (existing checkpoints stay until keep_last removes them).
   */
  resume?: 'auto' | string | false;
  /** A GPU to train on (stays open); otherwise train opens one and destroys it at the end. */
  gpu?: Gpu;
  onEvent?: (e: TrainEvent) => void;
  /** Aborting it finishes the current step, saves a checkpoint and ends the run `paused`. */
  signal?: AbortSignal;
  /**
   * Milliseconds to wait after each step (default 0). For tests of supervisors (queue worker, Slurm jobs) that must
   * act on a run while it trains: a tiny model otherwise finishes before a CLI call can reach it. No effect on
   * the numbers: batches, schedule and updates do not depend on time (without a time budget).
   */
  stepDelayMs?: number;
}

export interface TrainResult {
  runDir: string;
  state: 'done' | 'paused' | 'diverged';
  finalStep: number;
  finalLoss: number;
  finalValLoss?: number;
  bestValLoss?: number;
  /** The run was stopped by the signal (state 'paused'). */
  interrupted: boolean;
  lastCheckpoint?: string;
  /** For a diverged run: what the rule saw. */
  divergence?: { message: string; data: Record<string, unknown> };
}

/** Files below this size are scanned for out-of-range ids before training; larger ones are checked per batch. */
const FULL_SCAN_BYTES = 512 * 1024 * 1024;
/** status.json progress updates at most this often (each one takes the status lock). */
const STATUS_MIN_MS = 500;

function checkTokenFile(path: string, T: number, vocab: number, role: string) {
  const info = inspectTokenFile(path, T, vocab, role);
  if (info.numTokens * 2 <= FULL_SCAN_BYTES && (info.manifestVocab === undefined || info.manifestVocab > vocab)) {
    const bad = findOutOfRange(path, vocab);
    if (bad) throw outOfRangeError(path, vocab, bad);
  }
  return info;
}

/** The adapter as the start event reports it: the product name when the GPU layer knows it. */
export function deviceInfo(info: GpuInfo): DeviceInfo {
  // gpu/device.ts gains a product name (issue 8); until then the description is the best we have.
  const named = (info as GpuInfo & { name?: string }).name;
  return {
    name: named ?? info.description.split(':')[0] ?? info.description,
    vendor: info.vendor,
    architecture: info.architecture,
    driver: info.description,
    software: info.isSoftware,
  };
}

/** Makes a folder the library was pointed at a run folder (config.json, meta.json) if it is not one yet. */
function ensureRunFolder(runDir: string, cfg: RunConfig): void {
  mkdirSync(join(runDir, RUN_FILES.checkpoints), { recursive: true });
  if (!existsSync(join(runDir, RUN_FILES.config))) writeFileAtomic(join(runDir, RUN_FILES.config), `${JSON.stringify(resolvedConfigJson(cfg), null, 2)}\n`);
  if (!existsSync(join(runDir, RUN_FILES.meta))) writeFileAtomic(join(runDir, RUN_FILES.meta), `${JSON.stringify(RunMetaSchema.parse({ name: cfg.name }), null, 2)}\n`);
}

/**
 * Gives the memory plan's refusals their codes (the runtime raises them without one today; a coded error from it
 * passes through unchanged).
 */
function withCode<T>(fn: () => T, code: ErrorCode, data: Record<string, unknown>): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof UserError && e.code === 'USER_ERROR') throw new UserError(e.message, { code, data: { ...data, ...e.data }, cause: e });
    throw e;
  }
}

const finite = (x: number | undefined): number | undefined => (x !== undefined && Number.isFinite(x) ? x : undefined);

export async function train(cfg: RunConfig, opts: TrainOptions = {}): Promise<TrainResult> {
  const emit = (e: TrainEvent) => opts.onEvent?.(e);
  if (!opts.runDir && !cfg.out_dir) throw new UserError('no run folder: give the run a folder (out_dir)', { code: 'CONFIG_INVALID' });
  const runDir = resolve(opts.runDir ?? cfg.out_dir!);
  const T = cfg.model.context_length;
  const B = cfg.training.batch_size;
  const seed = cfg.training.seed;
  const budget = cfg.training.time_budget_s;

  let gpu: Gpu | undefined;
  let rt: TransformerRuntime | undefined;
  let loader: BatchLoader | undefined;
  let validLoader: BatchLoader | undefined;
  let ckptWriter: CheckpointWriter | undefined;
  let statusOwned = false;
  try {
    // Inputs are checked before anything is written or allocated.
    const trainInfo = checkTokenFile(cfg.data.train, T, cfg.model.vocab_size, 'training');
    const validInfo = cfg.data.valid ? checkTokenFile(cfg.data.valid, T, cfg.model.vocab_size, 'validation') : undefined;
    const resumed = findResume(runDir, opts.resume, emit);
    if (resumed) checkResumable(resumed, cfg);

    ensureRunFolder(runDir, cfg);
    const ckptDir = join(runDir, RUN_FILES.checkpoints);
    const metrics = new MetricsLog(join(runDir, RUN_FILES.metrics));
    const startStep = resumed?.step ?? 0;
    const cut = metrics.prepare(resumed ? startStep : -1);
    if (cut.tornTail || cut.skipped) {
      emit({ type: 'warning', code: 'FILE_INVALID', message: `metrics.jsonl had ${cut.tornTail ? 'a torn last line' : ''}${cut.tornTail && cut.skipped ? ' and ' : ''}${cut.skipped ? `${cut.skipped} unreadable line(s)` : ''}; cut`, data: { torn_tail: cut.tornTail, skipped: cut.skipped } });
    }
    const earlier = MetricsLog.read(metrics.path);
    const evals = earlier.filter((r): r is EvalRecord => r.kind === 'eval');
    let bestValLoss = evals.reduce<number | undefined>((b, r) => (Number.isFinite(r.val_loss) && (b === undefined || (r.val_loss as number) < b) ? (r.val_loss as number) : b), undefined);
    let finalValLoss = finite(evals.length ? (evals[evals.length - 1].val_loss ?? NaN) : undefined);
    const trainRecs = earlier.filter((r): r is TrainRecord => r.kind === 'train');
    let finalLoss = trainRecs.length ? (trainRecs[trainRecs.length - 1].loss ?? NaN) : NaN;

    gpu = opts.gpu ?? (await openGpu());
    const dev = deviceInfo(gpu.info);
    const gpuName = gpu.info.selected ? `${dev.name} (${gpu.info.selected})` : dev.name;
    const tensorCores = hasF16TensorCores(gpu.device);
    const precision = cfg.training.precision === 'auto' ? (tensorCores ? 'mixed' : 'f32') : cfg.training.precision;
    rt = withCode(() => new TransformerRuntime(gpu!, cfg.model, {
      precision,
      batchSize: B,
      seqLen: T,
      training: true,
      maxGradNorm: cfg.training.max_grad_norm,
      logitsChunkBytes: logitsChunkBytesFor(cfg.training.logits_chunk_mb),
      adam: { beta1: cfg.training.betas[0], beta2: cfg.training.betas[1], eps: cfg.training.eps, weightDecay: cfg.training.weight_decay },
    }), 'BATCH_TOO_LARGE', { batch_size: B, context_length: T });
    let tokensSeen = 0;
    const elapsedBase = resumed?.elapsedS ?? 0;
    if (resumed) {
      rt.setParameters(resumed.params);
      rt.setOptimizerState(resumed.m!, resumed.v!);
      tokensSeen = resumed.tokensSeen;
      if (resumed.lossScale) rt.setLossScaleState(resumed.lossScale.scale, resumed.lossScale.goodSteps);
    } else {
      rt.setParameters(initParameters(rt.layout, seed));
    }
    await gpu.sync();
    const r1 = rt;
    withCode(() => r1.checkAllocation(), 'GPU_OUT_OF_MEMORY', { batch_size: B, context_length: T });

    loader = new BatchLoader({ path: cfg.data.train, numTokens: trainInfo.numTokens, batchSize: B, contextLength: T, vocabSize: cfg.model.vocab_size, seed, stream: STREAM_TRAIN_BATCH, ...(cfg.training.overfit_one_batch ? { prefetch: 0 } : {}) });
    validLoader = validInfo
      ? new BatchLoader({ path: validInfo.path, numTokens: validInfo.numTokens, batchSize: B, contextLength: T, vocabSize: cfg.model.vocab_size, seed, stream: STREAM_VALID_BATCH, prefetch: 0 })
      : undefined;

    const now = () => new Date().toISOString();
    statusOwned = true;
    updateStatus(runDir, (s) => ({
      state: 'running', pid: process.pid, host: hostname(), gpu: gpuName, total_steps: cfg.steps, step: startStep,
      ...(s.started ? {} : { started: now() }), ended: undefined, error: undefined,
    }));

    const start: TrainStartEvent = {
      type: 'start', run_dir: runDir, steps: cfg.steps, start_step: startStep, parameters: rt.layout.count,
      non_embedding_parameters: nonEmbeddingCount(rt.layout), device: dev, precision: rt.precision,
      precision_reason: cfg.training.precision !== 'auto' ? 'config' : tensorCores ? 'auto-tensor-cores' : 'auto-no-tensor-cores',
      bounds_checks: gpu.info.boundsChecks, tokens_per_step: B * T, logits_chunk_rows: rt.chunkRows, train_tokens: trainInfo.numTokens,
      ...(resumed ? { resumed_from: resumed.path } : {}),
    };
    emit(start);

    const t0 = performance.now();
    const elapsed = () => elapsedBase + (performance.now() - t0) / 1000;
    let lastLogStep = startStep;
    let lastLogTime = performance.now();
    let lastCkptTime = performance.now();
    let lastStatus = 0;
    let lastCheckpoint: string | undefined = resumed?.path;
    const inFlight: Array<Promise<unknown>> = [];
    const divergence = new DivergenceMonitor(cfg.divergence);
    divergence.seed(trainRecs.map((r) => r.loss ?? NaN));
    const r0 = rt;

    const evaluate = async (step: number, all: boolean): Promise<void> => {
      if (!validLoader || !validInfo) return;
      let sum = 0;
      let count = 0;
      if (all || cfg.eval.batches === 'all') {
        // Every non-overlapping window of the file, in order; the last batch is padded and only its real rows count.
        const windows = Math.floor((validInfo.numTokens - 1) / T);
        for (let w0 = 0; w0 < windows; w0 += B) {
          const real = Math.min(B, windows - w0);
          const starts = new Float64Array(B);
          for (let b = 0; b < B; b++) starts[b] = Math.min(w0 + b, windows - 1) * T;
          const batch = await validLoader.load(starts);
          r0.setBatch(batch.inputs, batch.targets, batch.segments);
          r0.evaluate();
          const rows = await r0.readRowLoss();
          for (let i = 0; i < real * T; i++) sum += rows[i];
          count += real * T;
        }
      } else {
        // Pipelined: each batch's loss is copied out right behind its forward and read back a few batches later
        // (summed in batch order, as before), and the next batch is loaded while the GPU runs this one, so the GPU
        // does not wait for the host in between.
        const losses: Array<Promise<number>> = [];
        const add = async (loss: Promise<number>) => {
          sum += (await loss) * B * T;
          count += B * T;
        };
        const starts = (i: number) => batchStarts(seed, i, B, validInfo.numTokens, T, STREAM_VALID_BATCH);
        let next = validLoader.load(starts(0));
        for (let i = 0; i < cfg.eval.batches; i++) {
          const batch = await next;
          if (i + 1 < cfg.eval.batches) next = validLoader.load(starts(i + 1));
          r0.setBatch(batch.inputs, batch.targets, batch.segments);
          r0.evaluate();
          const loss = r0.readLoss();
          loss.catch(() => undefined); // awaited below, in order
          losses.push(loss);
          if (losses.length > 4) await add(losses.shift()!);
        }
        for (const loss of losses) await add(loss);
      }
      const val = sum / count;
      const r: EvalRecord = { kind: 'eval', step, tokens: tokensSeen, elapsed_s: elapsed(), time: now(), val_loss: val, val_ppl: Math.exp(val), val_tokens: count };
      finalValLoss = finite(val);
      if (finalValLoss !== undefined && (bestValLoss === undefined || finalValLoss < bestValLoss)) bestValLoss = finalValLoss;
      metrics.append(r);
      emit({ type: 'eval', record: r });
      updateStatus(runDir, { best_val_loss: bestValLoss, final_val_loss: finalValLoss });
    };

    // A diag record in flight (read back while the next steps run): written before the next diag, the next checkpoint
    // or the end.
    let pendingDiag: Promise<void> | undefined;
    const diagDone = async (): Promise<void> => {
      const p = pendingDiag;
      pendingDiag = undefined;
      await p;
    };

    // Checkpoints: the readback is queued right behind the step it belongs to, and the file is hashed and written
    // by the writer's worker thread once the readback lands, while training goes on (the final and the pausing
    // checkpoint are waited for).
    const writer = (ckptWriter = new CheckpointWriter());
    const checkpoint = async (step: number, wait: boolean): Promise<void> => {
      const path = join(ckptDir, checkpointName(step));
      await writer.idle();
      // Metrics first: every line the checkpoint covers is on disk before the checkpoint exists.
      await diagDone();
      metrics.flush(true);
      const meta = { step, model: cfg.model, runConfig: resolvedConfigJson(cfg), rng: { seed, next_step: step }, tokensSeen, elapsedS: elapsed() };
      // The values after this step, copied on the GPU now and read back in pieces behind the next steps.
      const snap = GpuSnapshot.take(r0.gpu.device, [r0.flat('params'), r0.flat('m'), r0.flat('v')], `checkpoint ${step}`);
      const lossScale = r0.precision === 'mixed' ? r0.lossScaleState() : undefined;
      const state = Promise.all([snap.read(), lossScale]).then(([[params, m, v], ls]) => ({ ...meta, params, m, v, lossScale: ls }));
      state.catch(() => undefined); // the write below reports it
      lastCkptTime = performance.now();
      // A waited-for checkpoint (the last, or on pause) is written in this thread: nothing to overlap it with.
      const written = writer.write(path, r0.layout, state, { inline: wait }).then((bytes) => {
        lastCheckpoint = path;
        emit({ type: 'checkpoint', path, step, bytes });
        // keep_last counts every checkpoint in the folder, also those of earlier processes.
        const keep = cfg.checkpoint.keep_last;
        if (keep > 0) {
          const all = listCheckpoints(ckptDir);
          for (const c of all.slice(0, Math.max(0, all.length - keep))) if (c.path !== path) rmSync(c.path, { force: true });
        }
      });
      if (wait) await written;
      else written.catch(() => undefined); // a failure is raised by writer.throwIfFailed() or idle()
    };

    let batch0: LoadedBatch | undefined;
    let step = startStep;
    let state: TrainResult['state'] = 'done';
    let diverged: TrainResult['divergence'];
    const everyMs = cfg.checkpoint.every_minutes * 60_000;
    for (; step < cfg.steps; step++) {
      if (opts.signal?.aborted) {
        state = 'paused';
        break;
      }
      if (budget !== undefined && elapsed() >= budget) break;
      writer.throwIfFailed();
      let batch: LoadedBatch;
      if (cfg.training.overfit_one_batch) batch = batch0 ??= await loader.get(0);
      else batch = await loader.get(step);
      rt.setBatch(batch.inputs, batch.targets, batch.segments);
      // With a time budget the schedule runs on the fraction of the budget used (see run-config.ts).
      const lr = learningRate(budget !== undefined ? Math.min(1, elapsed() / budget) * cfg.steps : step, cfg.schedule);
      rt.trainStep(lr, step + 1);
      tokensSeen += B * T;
      // Keep at most two steps queued on the GPU so the host never runs far ahead.
      inFlight.push(gpu.device.queue.onSubmittedWorkDone());
      if (inFlight.length > 2) await inFlight.shift();
      if (opts.stepDelayMs) await new Promise((r) => setTimeout(r, opts.stepDelayMs));
      const done = step + 1;
      // The step that spends the time budget is the last one: log it like the last step.
      const isLast = done === cfg.steps || (budget !== undefined && elapsed() >= budget);
      const logNow = done % cfg.log.interval === 0 || isLast;
      const diagNow = cfg.log.diag_interval > 0 && done % cfg.log.diag_interval === 0;
      if (logNow || diagNow) {
        // Both copies go out in one submit each before either wait; mapping them waits for the queue.
        const [loss, st] = await Promise.all([rt.readLoss(), rt.readStats()]);
        if (diagNow) {
          // Read back while the next steps run; recorded when complete (before the next diag or checkpoint).
          await diagDone();
          pendingDiag = diagRecord(rt, { step: done, tokens: tokensSeen, elapsed_s: elapsed(), time: now() }, rt.precision === 'mixed' ? st.lossScale : 1).then((d) => {
            metrics.append(d);
            emit({ type: 'diag', record: d });
          });
          pendingDiag.catch(() => undefined); // raised by diagDone()
        }
        if (logNow) {
          const t = performance.now();
          const tps = ((done - lastLogStep) * B * T) / Math.max(1e-9, (t - lastLogTime) / 1000);
          lastLogStep = done;
          lastLogTime = t;
          finalLoss = loss;
          const el = elapsed();
          const r: TrainRecord = {
            kind: 'train', step: done, tokens: tokensSeen, elapsed_s: el, time: now(), loss, lr, grad_norm: st.gradNorm, tokens_per_s: tps,
            ...(rt.precision === 'mixed' ? { loss_scale: st.lossScale, skipped: st.skipped } : {}),
          };
          metrics.append(r);
          const eta = budget !== undefined ? Math.max(0, budget - el) : ((cfg.steps - done) * B * T) / Math.max(tps, 1e-9);
          emit({ type: 'log', record: r, eta_s: eta });
          if (t - lastStatus >= STATUS_MIN_MS || isLast) {
            lastStatus = t;
            updateStatus(runDir, { step: done, tokens_per_s: tps, elapsed_s: el });
          }
          const verdict = divergence.observe(done, loss, lr, st.gradNorm, rt.precision === 'mixed' && st.skipped);
          if (verdict) {
            state = 'diverged';
            diverged = { message: verdict.message, data: verdict.data };
            step = done;
            break;
          }
        }
      }
      if (cfg.eval.interval > 0 && done % cfg.eval.interval === 0 && !isLast) await evaluate(done, false);
      const byMinutes = everyMs > 0 && performance.now() - lastCkptTime >= everyMs;
      if (!isLast && ((cfg.checkpoint.interval > 0 && done % cfg.checkpoint.interval === 0) || byMinutes)) await checkpoint(done, false);
    }

    await diagDone();
    if (state === 'diverged') {
      metrics.flush(true);
    } else if (state === 'paused') {
      await gpu.sync();
      if (step > startStep) await checkpoint(step, true);
      else metrics.flush(true);
    } else if (step > startStep) {
      await gpu.sync();
      // The final evaluation covers the whole validation file under a time budget (the leaderboard's number).
      await evaluate(step, budget !== undefined);
      await checkpoint(step, true);
    } else metrics.flush(true);
    await writer.idle();

    const result: TrainResult = {
      runDir, state, finalStep: step, finalLoss, finalValLoss, bestValLoss, interrupted: state === 'paused', lastCheckpoint,
      ...(diverged ? { divergence: diverged } : {}),
    };
    const patch: Partial<RunStatus> = {
      state, ended: now(), pid: undefined, host: undefined, step,
      elapsed_s: elapsed(), final_loss: finite(finalLoss), final_val_loss: finalValLoss, best_val_loss: bestValLoss,
      ...(diverged ? { error: { code: 'DIVERGED', message: diverged.message, data: diverged.data } } : {}),
    };
    // A stopped run ends `paused` unless its queue already recorded a final word meanwhile (`queue cancel` marks a
    // run cancelled once its Slurm job is gone, which can be before this process has saved and exited).
    updateStatus(runDir, (cur) => (state === 'paused' && FINISHED_STATES.includes(cur.state) ? { ...patch, state: cur.state, ended: cur.ended ?? patch.ended } : patch));
    emit({
      type: 'done', state, final_step: step, final_loss: finite(finalLoss) ?? null, final_val_loss: finalValLoss ?? null, best_val_loss: bestValLoss ?? null,
      ...(lastCheckpoint ? { last_checkpoint: lastCheckpoint } : {}),
    });
    return result;
  } catch (err) {
    // A full disk anywhere (metrics, status, checkpoint) is one clear error; checkpoints say more themselves.
    const errno = (err as NodeJS.ErrnoException).code;
    const e = !(err instanceof UserError) && (errno === 'ENOSPC' || errno === 'EDQUOT')
      ? new UserError(`no space left on the disk of run folder ${runDir}: free space, then resume the run`, { code: 'DISK_FULL', data: { dir: runDir }, cause: err })
      : err;
    const info = errorInfo(e);
    if (statusOwned || (existsSync(runDir) && readStatus(runDir))) {
      try {
        updateStatus(runDir, { state: 'failed', ended: new Date().toISOString(), pid: undefined, host: undefined, error: info });
      } catch {
        /* the status is best effort here: the original error matters more */
      }
    }
    emit({ type: 'error', error: info });
    throw e;
  } finally {
    await ckptWriter?.close();
    await loader?.close();
    await validLoader?.close();
    rt?.destroy();
    if (!opts.gpu) gpu?.destroy();
  }
}
