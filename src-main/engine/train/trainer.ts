// The training loop: batches from the background loader, one recorded GPU program per step, loss read back
// only at log intervals, periodic evaluation and checkpoints, exact resume. Front ends (CLI, app) pass event
// callbacks; the loop itself writes metrics.jsonl, run.json and checkpoints into the run folder.
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { hasF16TensorCores, openGpu, type Gpu } from '../gpu/device';
import { TransformerRuntime } from '../model/transformer';
import { initParameters, layoutParameters, parameterSpecs, nonEmbeddingCount } from '../model/parameters';
import { learningRate } from '../optim/schedule';
import { BatchLoader } from '../data/batch-loader';
import { inspectTokenFile, findOutOfRange, outOfRangeError } from '../data/token-file';
import { batchStarts } from '../data/batch';
import { STREAM_TRAIN_BATCH, STREAM_VALID_BATCH } from '../rng';
import { saveCheckpoint, loadCheckpoint } from '../checkpoint/checkpoint';
import { MetricsLog, type TrainRecord, type EvalRecord } from './metrics-log';
import type { RunConfig } from './run-config';
import { writeFileAtomic } from '../../util/atomic-write';
import { UserError } from '../../util/errors';

export interface TrainStartInfo {
  runDir: string;
  steps: number;
  startStep: number;
  parameters: number;
  nonEmbeddingParameters: number;
  device: string;
  tokensPerStep: number;
  trainTokens: number;
  precision: string;
  /** Whether Dawn clamps shader array indices (see safeKernels in gpu/device.ts). */
  kernels: string;
}

export interface TrainEvents {
  onStart?(info: TrainStartInfo): void;
  onStep?(step: number): void;
  onLog?(r: TrainRecord, etaSeconds: number): void;
  onEval?(r: EvalRecord): void;
  onCheckpoint?(path: string, step: number): void;
}

export interface TrainOptions {
  /** A checkpoint file, or a run folder (its newest checkpoint). */
  resume?: string;
  gpu?: Gpu;
  events?: TrainEvents;
  /** Stop early (saving a checkpoint) when this is aborted. */
  signal?: AbortSignal;
}

export interface TrainResult {
  runDir: string;
  finalStep: number;
  finalLoss: number;
  finalValLoss?: number;
  interrupted: boolean;
  lastCheckpoint?: string;
}

/** Files below this size are scanned for out-of-range ids before training; larger ones are checked per batch. */
const FULL_SCAN_BYTES = 512 * 1024 * 1024;

export function checkpointName(step: number): string {
  return `step_${String(step).padStart(7, '0')}.safetensors`;
}

/** The newest checkpoint in a run folder (or the file itself). */
export function resolveCheckpoint(pathOrDir: string): string {
  if (!existsSync(pathOrDir)) throw new UserError(`nothing to resume: ${pathOrDir} does not exist`);
  if (statSync(pathOrDir).isFile()) return pathOrDir;
  const dir = existsSync(join(pathOrDir, 'checkpoints')) ? join(pathOrDir, 'checkpoints') : pathOrDir;
  const files = readdirSync(dir).filter((f) => /^step_\d+\.safetensors$/.test(f)).sort();
  if (!files.length) throw new UserError(`nothing to resume: no step_*.safetensors checkpoint in ${dir}`);
  return join(dir, files[files.length - 1]);
}

function checkTokenFile(path: string, T: number, vocab: number, role: string) {
  const info = inspectTokenFile(path, T, vocab, role);
  if (info.numTokens * 2 <= FULL_SCAN_BYTES && (info.manifestVocab === undefined || info.manifestVocab > vocab)) {
    const bad = findOutOfRange(path, vocab);
    if (bad) throw outOfRangeError(path, vocab, bad);
  }
  return info;
}

export async function train(cfg: RunConfig, opts: TrainOptions = {}): Promise<TrainResult> {
  const ev = opts.events ?? {};
  const T = cfg.model.context_length;
  const B = cfg.training.batch_size;
  const trainInfo = checkTokenFile(cfg.data.train, T, cfg.model.vocab_size, 'training');
  const validInfo = cfg.data.valid ? checkTokenFile(cfg.data.valid, T, cfg.model.vocab_size, 'validation') : undefined;

  // Resume state is read before anything is written.
  const resumed = opts.resume ? loadCheckpoint(resolveCheckpoint(opts.resume), (m) => layoutParameters(parameterSpecs(m))) : undefined;
  if (resumed && JSON.stringify(resumed.model) !== JSON.stringify(cfg.model)) {
    throw new UserError(`cannot resume: the checkpoint's model config differs from this run's (${JSON.stringify(resumed.model)} vs ${JSON.stringify(cfg.model)})`);
  }
  if (resumed && !resumed.m) throw new UserError('cannot resume: the checkpoint has no optimizer state (it was saved for inference only)');

  const gpu = opts.gpu ?? (await openGpu());
  const precision = cfg.training.precision === 'auto' ? (hasF16TensorCores(gpu.device) ? 'mixed' : 'f32') : cfg.training.precision;
  const rt = new TransformerRuntime(gpu, cfg.model, {
    precision,
    batchSize: B,
    seqLen: T,
    training: true,
    maxGradNorm: cfg.training.max_grad_norm,
    adam: { beta1: cfg.training.betas[0], beta2: cfg.training.betas[1], eps: cfg.training.eps, weightDecay: cfg.training.weight_decay },
  });
  const seed = cfg.training.seed;
  let startStep = 0;
  let tokensSeen = 0;
  if (resumed) {
    rt.setParameters(resumed.params);
    rt.setOptimizerState(resumed.m!, resumed.v!);
    startStep = resumed.step;
    tokensSeen = resumed.tokensSeen;
    if (resumed.lossScale) rt.setLossScaleState(resumed.lossScale.scale, resumed.lossScale.goodSteps);
    if (resumed.rng.seed !== seed) throw new UserError(`cannot resume: the checkpoint was trained with seed ${resumed.rng.seed}, this config has ${seed}`);
  } else {
    rt.setParameters(initParameters(rt.layout, seed));
  }
  await gpu.sync();
  rt.checkAllocation();

  const runDir = cfg.out_dir;
  const ckptDir = join(runDir, 'checkpoints');
  mkdirSync(ckptDir, { recursive: true });
  const metrics = new MetricsLog(join(runDir, 'metrics.jsonl'));
  if (resumed) metrics.truncateAfter(startStep);
  else metrics.truncateAfter(-1);
  writeFileAtomic(join(runDir, 'run.json'), `${JSON.stringify({ config: cfg, device: gpu.info, started: new Date().toISOString(), resumed_from: resumed ? opts.resume : null }, null, 2)}\n`);

  const loader = new BatchLoader({ path: cfg.data.train, numTokens: trainInfo.numTokens, batchSize: B, contextLength: T, vocabSize: cfg.model.vocab_size, seed, stream: STREAM_TRAIN_BATCH });
  const validLoader = validInfo
    ? new BatchLoader({ path: validInfo.path, numTokens: validInfo.numTokens, batchSize: B, contextLength: T, vocabSize: cfg.model.vocab_size, seed, stream: STREAM_VALID_BATCH, prefetch: 0 })
    : undefined;

  ev.onStart?.({
    runDir, steps: cfg.steps, startStep, parameters: rt.layout.count, nonEmbeddingParameters: nonEmbeddingCount(rt.layout),
    device: gpu.info.description, tokensPerStep: B * T, trainTokens: trainInfo.numTokens,
    precision: rt.precision === 'mixed'
      ? 'mixed (f16 tensor-core matmuls and attention with f32 accumulation, f32 weights and optimizer state, dynamic loss scaling)'
      : `f32${cfg.training.precision === 'auto' ? ' (this adapter has no f16 subgroup matrices)' : ''}`,
    kernels: gpu.info.boundsChecks ? "Dawn's bounds clamping on (LMWB_SAFE_KERNELS=1)" : "Dawn's bounds clamping off (faster; LMWB_SAFE_KERNELS=1 turns it on)",
  });

  const t0 = performance.now();
  const elapsed = () => (performance.now() - t0) / 1000;
  let lastLogStep = startStep;
  let lastLogTime = performance.now();
  let finalLoss = NaN;
  let finalValLoss: number | undefined;
  let lastCheckpoint: string | undefined;
  const periodic: string[] = [];
  const inFlight: Array<Promise<unknown>> = [];

  const evaluate = async (step: number): Promise<void> => {
    if (!validLoader || !validInfo) return;
    let sum = 0;
    let count = 0;
    if (cfg.eval.batches === 'all') {
      // Every non-overlapping window of the file, in order; the last batch is padded and only its real rows count.
      const windows = Math.floor((validInfo.numTokens - 1) / T);
      for (let w0 = 0; w0 < windows; w0 += B) {
        const real = Math.min(B, windows - w0);
        const starts = new Float64Array(B);
        for (let b = 0; b < B; b++) starts[b] = Math.min(w0 + b, windows - 1) * T;
        const batch = await validLoader.load(starts);
        rt.setBatch(batch.inputs, batch.targets, batch.segments);
        rt.evaluate();
        const rows = await rt.readRowLoss();
        for (let i = 0; i < real * T; i++) sum += rows[i];
        count += real * T;
      }
    } else {
      for (let i = 0; i < cfg.eval.batches; i++) {
        const batch = await validLoader.load(batchStarts(seed, i, B, validInfo.numTokens, T, STREAM_VALID_BATCH));
        rt.setBatch(batch.inputs, batch.targets, batch.segments);
        rt.evaluate();
        sum += (await rt.readLoss()) * B * T;
        count += B * T;
      }
    }
    const r: EvalRecord = { kind: 'eval', step, val_loss: sum / count, val_tokens: count, tokens: tokensSeen, elapsed_s: elapsed(), time: new Date().toISOString() };
    finalValLoss = r.val_loss;
    metrics.append(r);
    ev.onEval?.(r);
  };

  const checkpoint = async (step: number, isFinal: boolean): Promise<void> => {
    const path = join(ckptDir, checkpointName(step));
    saveCheckpoint(path, rt.layout, {
      step, model: cfg.model, runConfig: cfg, rng: { seed, next_step: step }, tokensSeen,
      params: await rt.readFlat('params'), m: await rt.readFlat('m'), v: await rt.readFlat('v'),
      lossScale: rt.precision === 'mixed' ? await rt.lossScaleState() : undefined,
    });
    lastCheckpoint = path;
    ev.onCheckpoint?.(path, step);
    if (!isFinal) {
      periodic.push(path);
      const keep = cfg.checkpoint.keep_last;
      while (keep > 0 && periodic.length > keep) rmSync(periodic.shift()!, { force: true });
    }
  };

  let step = startStep;
  let interrupted = false;
  try {
    for (; step < cfg.steps; step++) {
      if (opts.signal?.aborted) {
        interrupted = true;
        break;
      }
      const batch = await loader.get(step);
      rt.setBatch(batch.inputs, batch.targets, batch.segments);
      const lr = learningRate(step, cfg.schedule);
      rt.trainStep(lr, step + 1);
      tokensSeen += B * T;
      ev.onStep?.(step + 1);
      // Keep at most two steps queued on the GPU so the host never runs far ahead.
      inFlight.push(gpu.device.queue.onSubmittedWorkDone());
      if (inFlight.length > 2) await inFlight.shift();
      const done = step + 1;
      const isLast = done === cfg.steps;
      if (done % cfg.log.interval === 0 || isLast) {
        const loss = await rt.readLoss();
        const st = await rt.readStats();
        const gradNorm = st.gradNorm;
        await gpu.sync();
        if (!Number.isFinite(loss)) {
          throw new UserError(`training diverged: the loss is ${loss} at step ${done} (learning rate ${lr.toExponential(2)}); lower training.max_learning_rate or raise warmup_iters`);
        }
        const now = performance.now();
        const tps = ((done - lastLogStep) * B * T) / Math.max(1e-9, (now - lastLogTime) / 1000);
        lastLogStep = done;
        lastLogTime = now;
        finalLoss = loss;
        const r: TrainRecord = {
          kind: 'train', step: done, loss, lr, grad_norm: gradNorm, tokens: tokensSeen, tokens_per_s: tps, elapsed_s: elapsed(), time: new Date().toISOString(),
          ...(rt.precision === 'mixed' ? { loss_scale: st.lossScale, skipped: st.skipped } : {}),
        };
        metrics.append(r);
        ev.onLog?.(r, ((cfg.steps - done) * B * T) / Math.max(tps, 1e-9));
      }
      if (cfg.eval.interval > 0 && done % cfg.eval.interval === 0 && !isLast) await evaluate(done);
      if (cfg.checkpoint.interval > 0 && done % cfg.checkpoint.interval === 0 && !isLast) await checkpoint(done, false);
    }
    if (step > startStep || interrupted) {
      await gpu.sync();
      if (!interrupted || step > startStep) await evaluate(step);
      await checkpoint(step, true);
    }
  } finally {
    await loader.close();
    await validLoader?.close();
    rt.destroy();
    if (!opts.gpu) gpu.destroy();
  }
  return { runDir, finalStep: step, finalLoss, finalValLoss, interrupted, lastCheckpoint };
}
