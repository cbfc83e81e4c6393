// The fused w1|w3 GEMMs of mixed precision with SwiGLU (forward.ts, backward.ts; plan.ts ab and dab16) against the
// same runtime with one GEMM per projection (LMWB_FUSE_FFN=0), with emulated subgroup matrices on any adapter with
// shader-f16 (llvmpipe). d_ff 80 is not a multiple of the 64-wide tile or the K step of 32, so the forward's tiles,
// the backward_input's K steps and the weight gradient's row tiles all straddle the w1/w3 boundary (the kernel maps
// each vector and 16-column block on its own). The forward computes every element as the unfused one does, so the
// loss and the row losses must be bit for bit the same; the backward sums da·W1 + db·W3 in one K loop and splits
// the fused weight gradient's K its own way, so gradients and updated parameters agree closely, not exactly.
// The GPU comparison is opt-in (LMWB_SLOW_TESTS=1): on llvmpipe with a cold Mesa shader cache, as in CI, LLVM 15's
// coroutine pass takes minutes over each of these emulated GEMM pipelines (21 minutes for this file on the 2-core
// development machine, nearly all in the first case; seconds once the cache is warm). The same fused path runs on
// the H200 in the mixed reference case, the side-by-side check and the 2,000-step parity run (BENCHMARKS.md, GEMM
// round 8). The layout test always runs.
import { afterAll, describe, expect, it } from 'vitest';
import { maxRelErr } from './step-results';
import { hasF16 as ok, tearDown, tinyModel } from './emulated-step';
import { parameterSpecs } from '../../src-main/engine/model/parameters';
import { rngFor, STREAM_INIT, truncatedNormal } from '../../src-main/engine/rng';

afterAll(() => tearDown(['LMWB_FUSE_FFN']));

const { cfg, layout, init, run: runWith } = tinyModel(80);
const run = (fuse: boolean) => runWith({ LMWB_FUSE_FFN: fuse ? '1' : '0' });

describe('the parameter layout', () => {
  it('stores w3 right after w1 and keeps CS336 order for names (checkpoints) and initialisation', () => {
    const w1 = layout.byName.get('layers.0.ffn.w1.weight')!;
    const w2 = layout.byName.get('layers.0.ffn.w2.weight')!;
    const w3 = layout.byName.get('layers.0.ffn.w3.weight')!;
    expect(w3.offset).toBe(w1.offset + w1.numel);
    expect(w2.offset).toBe(w3.offset + w3.numel);
    // Names (checkpoints) and initialisation streams keep CS336's order: slot i draws from stream i wherever it is stored.
    expect(layout.slots.map((s) => s.name)).toEqual(parameterSpecs(cfg).map((s) => s.name));
    const i3 = layout.slots.indexOf(w3);
    const expected = new Float32Array(w3.numel);
    truncatedNormal(rngFor(5, STREAM_INIT, i3), expected, Math.sqrt(2 / (w3.shape[0] + w3.shape[1])), 3);
    expect(Buffer.from(init.slice(w3.offset, w3.offset + w3.numel).buffer).equals(Buffer.from(expected.buffer))).toBe(true);
  });
});

const slow = process.env.LMWB_SLOW_TESTS === '1';
describe.skipIf(!ok || !slow)(`fused w1|w3 GEMMs (emulated subgroup matrices)${slow ? '' : ': skipped, set LMWB_SLOW_TESTS=1 (about 20 minutes on llvmpipe with a cold shader cache)'}`, () => {
  let plain: Awaited<ReturnType<typeof run>>;

  it('unfused: one GEMM per projection', async () => {
    plain = await run(false);
    expect(plain.labels.filter((l) => l.includes('w1|w3'))).toEqual([]);
  }, 1_800_000);

  it('fused forward, backward_input and weight gradient: same loss bit for bit, close gradients', async () => {
    const f = await run(true);
    const fused = f.labels.filter((l) => l.includes('w1|w3'));
    expect(fused.some((l) => l.startsWith('linear_forward w1|w3'))).toBe(true);
    expect(fused.some((l) => l.startsWith('linear_backward_input w1|w3'))).toBe(true);
    expect(fused.some((l) => l.startsWith('linear_backward_weight w1|w3'))).toBe(true);
    expect(f.labels.filter((l) => l.startsWith('linear_forward')).length).toBe(plain.labels.filter((l) => l.startsWith('linear_forward')).length - 1);
    expect(f.loss).toBe(plain.loss);
    expect(Buffer.from(f.rows.buffer).equals(Buffer.from(plain.rows.buffer))).toBe(true);
    expect(maxRelErr(f.grads, plain.grads)).toBeLessThan(2e-3);
    expect(maxRelErr(f.params, plain.params)).toBeLessThan(1e-4);
  }, 1_800_000);
});
