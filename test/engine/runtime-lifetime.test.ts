// Every runtime releases what it allocated: parameters, activations, optimizer state, and the uniform and scratch
// buffers made while recording its programs, for every model variant, training and forward-only, and also when its
// constructor throws half-way (after allocating) or up front. Counted through the GPU buffer registry
// (util/live-resources 'gpu-buffer', fed by gpu/device.ts), so a buffer made anywhere on the device is seen.
import { afterAll, describe, expect, it } from 'vitest';
import { openGpu } from '../../src-main/engine/gpu/device';
import { parseModelConfig, type ModelConfig } from '../../src-main/engine/model/config';
import { initParameters } from '../../src-main/engine/model/parameters';
import { ForwardRuntime, TrainingRuntime } from '../../src-main/engine/model/runtime';
import { UserError } from '../../src-main/util/errors';
import { liveCount } from '../../src-main/util/live-resources';

process.env.XDG_RUNTIME_DIR ??= '/tmp';
const gpu = await openGpu();
afterAll(() => gpu.destroy());

const base = { vocab_size: 61, context_length: 8, d_model: 16, num_layers: 2, num_heads: 2, d_ff: 24 };
const variants: Array<Record<string, unknown>> = [
  {}, { norm: 'post' }, { norm: 'none' }, { pos: 'nope' }, { ffn: 'silu' }, { tie_embeddings: true },
];
const ids = Uint32Array.from({ length: 16 }, (_, i) => (i * 5) % 61);

async function use(cfg: ModelConfig): Promise<void> {
  const tr = new TrainingRuntime(gpu, cfg, { batchSize: 2, seqLen: 8, maxGradNorm: 1 });
  const fwd = new ForwardRuntime(gpu, cfg, { batchSize: 2, seqLen: 8, captureLogits: true });
  try {
    const init = initParameters(tr.layout, 1);
    tr.setParameters(init);
    fwd.setParameters(init);
    tr.setBatch(ids, ids);
    fwd.setBatch(ids);
    tr.trainStep(1e-3, 1);
    tr.forwardBackwardOnly();
    tr.evaluate();
    fwd.evaluate();
    await gpu.sync();
    expect(Number.isFinite(await tr.readLoss())).toBe(true);
    expect((await fwd.readLogits()).length).toBe(16 * 61);
  } finally {
    tr.destroy();
    fwd.destroy();
    tr.destroy(); // idempotent
  }
}

describe('runtimes release every GPU buffer they made', () => {
  for (const v of variants) {
    it(`training and forward-only, ${JSON.stringify(v)}`, async () => {
      const cfg = parseModelConfig({ ...base, ...v });
      await use(cfg); // pipelines compiled, pools warmed: nothing of that is a buffer, but measure after anyway
      const before = liveCount('gpu-buffer');
      await use(cfg);
      expect(liveCount('gpu-buffer')).toBe(before);
    });
  }

  it('a constructor that throws after allocating releases what it allocated', () => {
    // Head dim 260, past the config parser (which refuses it) straight to the runtime: allocation succeeds, then
    // recording the attention throws (head dim above 256), standing in for any failure while recording.
    const cfg: ModelConfig = { ...parseModelConfig(base), d_model: 520, num_heads: 2 };
    const before = liveCount('gpu-buffer');
    for (const make of [
      () => new TrainingRuntime(gpu, cfg, { batchSize: 1, seqLen: 8 }),
      () => new ForwardRuntime(gpu, cfg, { batchSize: 1, seqLen: 8 }),
    ]) {
      expect(make).toThrow(/head dim 260/);
      expect(liveCount('gpu-buffer')).toBe(before);
    }
  });

  it('refusals before allocation (batch too large, precision the adapter lacks) leave nothing either', () => {
    const before = liveCount('gpu-buffer');
    const big = parseModelConfig({ vocab_size: 10000, context_length: 256, d_model: 512, num_layers: 4, num_heads: 16, d_ff: 1344 });
    let err: unknown;
    try {
      new TrainingRuntime(gpu, big, { batchSize: 4096, seqLen: 256 });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UserError);
    expect((err as UserError).code).toBe('BATCH_TOO_LARGE');
    if (!gpu.info.subgroupMatrix) {
      expect(() => new ForwardRuntime(gpu, parseModelConfig(base), { batchSize: 1, seqLen: 8, precision: 'mixed' })).toThrow(/precision "mixed" needs f16 tensor cores/);
    }
    expect(liveCount('gpu-buffer')).toBe(before);
  });
});
