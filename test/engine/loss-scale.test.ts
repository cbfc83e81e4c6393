// Loss scaling (for f16 matmuls): scaling by a power of two must not change the update at all in f32, and an
// overflow must skip the step and halve the scale, all decided on the GPU.
import { describe, it, expect } from 'vitest';
import { testGpu } from '../helpers';
import { parseModelConfig } from '../../src-main/engine/model/config';
import { TransformerRuntime, type RuntimeOptions } from '../../src-main/engine/model/transformer';
import { initParameters } from '../../src-main/engine/model/parameters';

const cfg = parseModelConfig({ vocab_size: 97, context_length: 12, d_model: 24, num_layers: 2, num_heads: 2, d_ff: 40 });
const ids = Uint32Array.from({ length: 36 }, (_, i) => (i * 7) % 97);
const targets = Uint32Array.from({ length: 36 }, (_, i) => (i * 11 + 3) % 97);

async function stepOnce(lossScale?: RuntimeOptions['lossScale'], steps = 1) {
  const gpu = await testGpu();
  const rt = new TransformerRuntime(gpu, cfg, { batchSize: 3, seqLen: 12, training: true, maxGradNorm: 1, lossScale });
  try {
    const init = initParameters(rt.layout, 5);
    rt.setParameters(init);
    rt.setBatch(ids, targets);
    for (let s = 0; s < steps; s++) rt.trainStep(1e-2, s + 1);
    await gpu.sync();
    return { init, params: await rt.readFlat('params'), stats: await rt.readStats() };
  } finally {
    rt.destroy();
  }
}

describe('loss scaling', () => {
  it('a static power-of-two scale gives bit-identical updates and the same grad norm', async () => {
    const a = await stepOnce();
    const b = await stepOnce({ initial: 1024, dynamic: false });
    expect(b.stats.lossScale).toBe(1024);
    expect(b.stats.skipped).toBe(false);
    expect(b.stats.gradNorm).toBe(a.stats.gradNorm);
    expect(Buffer.compare(Buffer.from(a.params.buffer), Buffer.from(b.params.buffer))).toBe(0);
  });

  it('dynamic scaling skips an overflowing step, halves the scale, then trains', async () => {
    const r = await stepOnce({ initial: 3e38, dynamic: true });
    expect(r.stats.skipped).toBe(true);
    expect(r.stats.lossScale).toBeCloseTo(1.5e38, -36);
    expect(Buffer.compare(Buffer.from(r.init.buffer), Buffer.from(r.params.buffer))).toBe(0);
    // after enough halvings the gradients fit and steps are taken again
    const later = await stepOnce({ initial: 2 ** 70, dynamic: true }, 12);
    expect(later.stats.skipped).toBe(false);
    expect(later.stats.lossScale).toBeLessThan(2 ** 70);
    expect(Buffer.compare(Buffer.from(later.init.buffer), Buffer.from(later.params.buffer))).not.toBe(0);
  });

  it('grows the scale after growthInterval good steps', async () => {
    const r = await stepOnce({ initial: 256, dynamic: true, growthInterval: 3 }, 7);
    expect(r.stats.lossScale).toBe(1024);
  });
});
