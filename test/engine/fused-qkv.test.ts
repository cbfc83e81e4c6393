// The fused q/k/v GEMMs of mixed precision (forward.ts, backward.ts; linear_f16.wgsl's block defines KBA BSA NBC
// BSC) against the same runtime with one GEMM per projection (LMWB_FUSE_QKV=0), with emulated subgroup matrices on
// any adapter with shader-f16 (llvmpipe). The forward GEMM computes every output element as the unfused one does,
// so the loss and every row loss must be bit for bit the same; the backward sums dq·Wq + dk·Wk + dv·Wv in one K
// loop instead of three accumulating GEMMs (and the fused weight gradient may split K differently), so gradients
// and updated parameters must agree closely, not exactly. Each case also checks which GEMMs were recorded.
import { afterAll, describe, expect, it } from 'vitest';
import { emulatedKernelsDir } from '../kernels/emulated-subgroup-matrix';
import { maxRelErr, stepResults } from './step-results';

process.env.LMWB_KERNELS_DIR = emulatedKernelsDir();
process.env.LMWB_F16_CONST_LD = '0'; // llvmpipe compiles the emulated GEMMs with constant strides very slowly
// w1 and w3 as two GEMMs, as this test was built (the fused w1|w3 GEMMs are other pipelines that llvmpipe's LLVM
// takes many minutes over when emulated; fused-ffn.test.ts says where they are checked).
process.env.LMWB_FUSE_FFN = '0';
process.env.XDG_RUNTIME_DIR ??= '/tmp';

const { openGpu } = await import('../../src-main/engine/gpu/device');
const { f32Kernels } = await import('../../src-main/engine/gpu/program');
const { parseModelConfig } = await import('../../src-main/engine/model/config');
const { initParameters, layoutParameters, parameterSpecs } = await import('../../src-main/engine/model/parameters');
const { TrainingRuntime } = await import('../../src-main/engine/model/runtime');
const { setF16TileForTests, tile } = await import('../../src-main/engine/kernels/linear-f16');

const gpu = await openGpu();
const ok = gpu.info.features.includes('shader-f16');
afterAll(() => {
  setF16TileForTests(undefined);
  delete process.env.LMWB_FUSE_QKV;
  delete process.env.LMWB_FUSE_QKV_BW;
  delete process.env.LMWB_FUSE_FFN;
  gpu.destroy();
});
// One small tile (32×64 from 1×2 subgroups, K step 32): d_model 64 is one tile wide, so q, k, v are three C blocks.
setF16TileForTests(tile(32, 64, 1, 2));

const cfg = parseModelConfig({ vocab_size: 64, context_length: 16, d_model: 64, num_layers: 1, num_heads: 4, d_ff: 96 });
const B = 2;
const T = 16;
const ids = Uint32Array.from({ length: B * T }, (_, i) => (i * 7 + 3) % 64);
const targets = Uint32Array.from({ length: B * T }, (_, i) => (i * 5 + 1) % 64);
const init = initParameters(layoutParameters(parameterSpecs(cfg)), 5);
const kernels = { ...f32Kernels(gpu.device), linear: 'f16' as const, attention: 'f16' as const };

async function run(env: { fuse: boolean; fuseBw: boolean }) {
  process.env.LMWB_FUSE_QKV = env.fuse ? '1' : '0';
  process.env.LMWB_FUSE_QKV_BW = env.fuseBw ? '1' : '0';
  const rt = new TrainingRuntime(gpu, cfg, { batchSize: B, seqLen: T, maxGradNorm: 1, precision: 'mixed', kernels });
  try {
    return await stepResults(rt, init, ids, targets);
  } finally {
    rt.destroy();
  }
}

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
