// Training throughput benchmark: tokens/s and ms/step of full training steps (forward, backward, clip, AdamW)
// for a model config and batch, plus a per-kernel GPU time table from timestamp queries.
//   npm run bench:cpu                      CS336 model, batch 8 (llvmpipe-sized)
//   npm run bench:gpu                      CS336 model, batch 128
//   … -- --batch 16 --steps 5 --model '{"d_model":256}' --no-kernels
//   … -- --max-batch                        also find the largest batch (doubling) that allocates and trains
//   … -- --data DS/train.bin                 real batches from a token file (`lmwb dataset prepare`) instead of uniform
//                                          random ids: the embedding backward's work depends on how often ids repeat
//   … -- --side-by-side --batch 8            check instead: f32 and mixed runtimes built on one device in either order give
//                                          bit for bit what each gives alone (exit 1 if not; needs f16 tensor cores)
import { parseArgs } from 'node:util';
import { describeGpu, hasF16TensorCores, openGpu } from '../engine/gpu/device';
import { parseModelConfig, CS336_TINYSTORIES } from '../engine/model/config';
import { TrainingRuntime } from '../engine/model/runtime';
import { initParameters, layoutParameters, parameterSpecs } from '../engine/model/parameters';
import { profileProgram } from '../engine/gpu/profiler';
import { rngFor, uniformInt } from '../engine/rng';
import { describeKernels } from '../engine/kernels/choice';
import { BatchLoader, type LoadedBatch } from '../engine/data/batch-loader';
import { inspectTokenFile } from '../engine/data/token-file';
import { STREAM_TRAIN_BATCH } from '../engine/rng';

const { values: a } = parseArgs({
  options: {
    batch: { type: 'string', default: '8' },
    steps: { type: 'string', default: '3' },
    warmup: { type: 'string', default: '1' },
    model: { type: 'string', default: '{}' },
    'no-kernels': { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
    precision: { type: 'string', default: 'auto' },
    'max-batch': { type: 'boolean', default: false },
    'side-by-side': { type: 'boolean', default: false },
    data: { type: 'string' },
  },
});

const cfg = parseModelConfig({ ...CS336_TINYSTORIES, ...(JSON.parse(a.model!) as object) });
const B = Number(a.batch);
const T = cfg.context_length;
const gpu = await openGpu({ precise_timestamps: true });
const precision = a.precision === 'auto' ? (hasF16TensorCores(gpu.device) ? 'mixed' : 'f32') : a.precision;
if (precision !== 'f32' && precision !== 'mixed') throw new Error(`--precision f32|mixed|auto, not ${a.precision}`);
if (a['side-by-side']) process.exit(await sideBySide());

/** The side-by-side check (see the header): 0 when every comparison is bit-identical, 1 otherwise. */
async function sideBySide(): Promise<number> {
  if (!hasF16TensorCores(gpu.device)) {
    process.stdout.write(`side-by-side: ${gpu.info.name} has no f16 tensor cores; the emulated version is test/engine/runtimes-side-by-side.test.ts\n`);
    return 0;
  }
  const ids = new Uint32Array(B * T).map((_, i) => (i * 7 + 3) % cfg.vocab_size);
  const tg = ids.map((x) => (x * 5 + 1) % cfg.vocab_size);
  const init = initParameters(layoutParameters(parameterSpecs(cfg)), 1);
  const make = (p: 'f32' | 'mixed') => {
    const r = new TrainingRuntime(gpu, cfg, { batchSize: B, seqLen: T, maxGradNorm: 1, precision: p });
    r.setParameters(init);
    return r;
  };
  const run = async (r: TrainingRuntime) => {
    r.setBatch(ids, tg);
    r.forwardBackwardOnly();
    const grads = await r.readFlat('grads');
    r.trainStep(1e-3, 1);
    r.trainStep(1e-3, 2);
    return { grads, params: await r.readFlat('params') };
  };
  const same = (x: Float32Array, y: Float32Array) => Buffer.compare(Buffer.from(x.buffer), Buffer.from(y.buffer)) === 0;
  const alone: Record<string, { grads: Float32Array; params: Float32Array }> = {};
  for (const p of ['f32', 'mixed'] as const) {
    const r = make(p);
    alone[p] = await run(r);
    r.destroy();
  }
  let bad = 0;
  for (const order of [['f32', 'mixed'], ['mixed', 'f32']] as const) {
    const rts = order.map(make);
    for (const [i, p] of order.entries()) {
      const got = await run(rts[i]);
      const ok = same(got.grads, alone[p].grads) && same(got.params, alone[p].params);
      if (!ok) bad++;
      process.stdout.write(`side-by-side: built ${order.join(' then ')}, ${p}: ${ok ? 'identical to alone PASS' : 'differs from alone FAIL'}\n`);
    }
    for (const r of rts) r.destroy();
  }
  return bad ? 1 : 0;
}

const rt = new TrainingRuntime(gpu, cfg, { batchSize: B, seqLen: T, training: true, maxGradNorm: 1, precision });
rt.setParameters(initParameters(rt.layout, 0));
const steps = Number(a.steps);
const warmup = Number(a.warmup);
/** --data: the batches of steps 0 .. warmup + steps − 1 of a training run on that file (seed 0), loaded before timing. */
const batches: LoadedBatch[] = [];
if (a.data) {
  const info = inspectTokenFile(a.data, T, cfg.vocab_size, 'benchmark');
  const loader = new BatchLoader({ path: a.data, numTokens: info.numTokens, batchSize: B, contextLength: T, vocabSize: cfg.vocab_size, seed: 0, stream: STREAM_TRAIN_BATCH });
  try {
    for (let s = 0; s < warmup + steps; s++) batches.push(await loader.get(s));
  } finally {
    await loader.close();
  }
}
/** Before step i (0-based, warm-up steps first): its real batch under --data. */
const feed = (i: number): void => {
  const b = batches[i];
  if (b) rt.setBatch(b.inputs, b.targets, b.segments);
};
if (!a.data) {
  const rng = rngFor(0, 99);
  const ids = new Uint32Array(B * T).map(() => uniformInt(rng, 0, cfg.vocab_size - 1));
  rt.setBatch(ids, ids.map((x) => (x + 1) % cfg.vocab_size));
}
await gpu.sync();
rt.checkAllocation();

const out = (s: string) => process.stdout.write(`${s}\n`);
out(`device: ${describeGpu(gpu.info)}`);
out(`model: ${JSON.stringify(cfg)}`);
out(`precision: ${precision} (${describeKernels(rt.kernels)}); Dawn bounds clamping ${gpu.info.boundsChecks ? 'on' : 'off'}`);
out(`data: ${a.data ? `${a.data} (real batches, seed 0)` : 'uniform random ids, one batch'}`);
out(`batch ${B} × ${T} = ${B * T} tokens/step; ${(rt.layout.count / 1e6).toFixed(2)}M parameters; ${(rt.bytesAllocated / 2 ** 20).toFixed(0)} MiB allocated; logits chunk ${rt.chunkRows} rows`);
for (let i = 0; i < warmup; i++) {
  feed(i);
  rt.trainStep(1e-3, i + 1);
}
await gpu.sync();
const t0 = performance.now();
for (let i = 0; i < steps; i++) {
  feed(warmup + i);
  rt.trainStep(1e-3, i + 2);
}
await rt.readLoss();
await gpu.sync();
const ms = (performance.now() - t0) / steps;
const tps = (B * T) / (ms / 1000);
const finalLoss = await rt.readLoss();
out(`steps ${steps}: ${ms.toFixed(1)} ms/step, ${tps.toFixed(0)} tokens/s (loss ${finalLoss.toFixed(4)})`);
// Every digit, so that two engines that should compute the same values can be compared exactly.
out(`loss after ${warmup + steps} steps, every digit: ${finalLoss}`);
let kernels: Awaited<ReturnType<typeof profileProgram>> | undefined;
if (!a['no-kernels'] && gpu.device.features.has('timestamp-query')) {
  kernels = await profileProgram(gpu.device, rt.trainProgram, 1);
  out(`per-kernel GPU time (one pass per dispatch, timestamp queries), total ${kernels.totalMs.toFixed(1)} ms:`);
  for (const k of kernels.kernels) out(`  ${k.label.padEnd(44)} ${k.calls.toFixed(0).padStart(4)} × ${(k.ms / k.calls).toFixed(3).padStart(9)} ms = ${k.ms.toFixed(2).padStart(9)} ms  ${((100 * k.ms) / kernels.totalMs).toFixed(1).padStart(5)}%`);
  // What an evaluation batch costs the GPU (the trainer's eval of N batches should cost about N times this).
  const ev = await profileProgram(gpu.device, rt.evalProgram, 1);
  out(`evaluation program (forward + loss of one batch): ${ev.totalMs.toFixed(1)} ms of GPU time`);
}
let maxBatch: { ok: number; failed?: number; reason?: string } | undefined;
if (a['max-batch']) {
  rt.destroy();
  maxBatch = { ok: B };
  for (let b = B * 2; b <= 65536; b *= 2) {
    let trial: TrainingRuntime | undefined;
    try {
      trial = new TrainingRuntime(gpu, cfg, { batchSize: b, seqLen: T, training: true, maxGradNorm: 1, precision });
      const tids = new Uint32Array(b * T).map((_, i) => i % cfg.vocab_size);
      trial.setBatch(tids, tids);
      trial.trainStep(1e-3, 1);
      await gpu.sync();
      trial.checkAllocation();
      out(`batch ${b}: fits (${(trial.bytesAllocated / 2 ** 20).toFixed(0)} MiB allocated by the engine)`);
      maxBatch.ok = b;
    } catch (e) {
      maxBatch = { ...maxBatch, failed: b, reason: (e as Error).message.split('\n')[0] };
      out(`batch ${b}: does not fit: ${maxBatch.reason}`);
      break;
    } finally {
      trial?.destroy();
    }
  }
  out(`largest batch that trains (powers of two from ${B}): ${maxBatch.ok}`);
}
if (a.json) out(JSON.stringify({ device: gpu.info.name, driver: gpu.info.driver, precision, batch: B, seq: T, ms_per_step: ms, tokens_per_s: tps, kernels: kernels?.kernels, max_batch: maxBatch }));
if (!a['max-batch']) rt.destroy();
gpu.destroy();
process.exit(0);
