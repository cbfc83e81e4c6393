// The fused q/k/v GEMMs of mixed precision (forward.ts, backward.ts; linear_f16.wgsl's block defines KBA BSA NBC
// BSC) against the same runtime with one GEMM per projection (LMWB_FUSE_QKV=0), with emulated subgroup matrices on
// any adapter with shader-f16 (llvmpipe). The forward GEMM computes every output element as the unfused one does,
// so the loss and every row loss must be bit for bit the same; the backward sums dq·Wq + dk·Wk + dv·Wv in one K
// loop instead of three accumulating GEMMs (and the fused weight gradient may split K differently), so gradients
// and updated parameters must agree closely, not exactly. Each case also checks which GEMMs were recorded.
import { afterAll, describe, expect, it } from 'vitest';
import { maxRelErr } from './step-results';

// w1 and w3 as two GEMMs, as this test was built (the fused w1|w3 GEMMs are other pipelines that llvmpipe's LLVM
// takes many minutes over when emulated; fused-ffn.test.ts says where they are checked).
process.env.LMWB_FUSE_FFN = '0';
const { hasF16: ok, tinyModel, tearDown } = await import('./emulated-step');
afterAll(() => tearDown(['LMWB_FUSE_QKV', 'LMWB_FUSE_QKV_BW', 'LMWB_FUSE_FFN']));

const model = tinyModel(96);
const run = (env: { fuse: boolean; fuseBw: boolean }) => model.run({ LMWB_FUSE_QKV: env.fuse ? '1' : '0', LMWB_FUSE_QKV_BW: env.fuseBw ? '1' : '0' });

describe.skipIf(!ok)('fused q/k/v GEMMs (emulated subgroup matrices)', () => {
  let plain: Awaited<ReturnType<typeof run>>;

  it('unfused: one GEMM per projection', async () => {
    plain = await run({ fuse: false, fuseBw: false });
    expect(plain.labels.filter((l) => l.includes('q|k|v'))).toEqual([]);
  });

  it.each([[false], [true]])('fused forward and backward_input (weight gradient fused too: %s): same loss bit for bit, close gradients', async (fuseBw) => {
    const f = await run({ fuse: true, fuseBw });
    const fusedLabels = f.labels.filter((l) => l.includes('q|k|v'));
    expect(fusedLabels.some((l) => l.startsWith('linear_forward q|k|v'))).toBe(true);
    expect(fusedLabels.some((l) => l.startsWith('linear_backward_input q|k|v'))).toBe(true);
    expect(fusedLabels.some((l) => l.startsWith('linear_backward_weight q|k|v'))).toBe(fuseBw);
    expect(f.labels.filter((l) => l.startsWith('linear_forward')).length).toBe(plain.labels.filter((l) => l.startsWith('linear_forward')).length - 2);
    expect(f.loss).toBe(plain.loss);
    expect(Buffer.from(f.rows.buffer).equals(Buffer.from(plain.rows.buffer))).toBe(true);
    expect(maxRelErr(f.grads, plain.grads)).toBeLessThan(2e-3);
    expect(maxRelErr(f.params, plain.params)).toBeLessThan(1e-4);
  }, 900_000); // llvmpipe, cold Mesa shader cache: over 300 s for one of these on the 2-core development machine
});
