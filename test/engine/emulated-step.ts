// Shared set-up of the tests that compare two recordings of a tiny mixed-precision model with emulated subgroup
// matrices on any adapter with shader-f16 (llvmpipe): fused-qkv and fused-ffn. Importing it points the engine at the
// emulated kernels (before any pipeline is built) with the leading dimensions read from Params (llvmpipe compiles
// the emulated GEMMs with constant strides very slowly) and one small tile, 32×64 from 1×2 subgroups with a K step
// of 32; `run` builds a training runtime under the given environment switches and returns stepResults of it.
import { emulatedKernelsDir } from '../kernels/emulated-subgroup-matrix';
import { stepResults } from './step-results';

process.env.LMWB_KERNELS_DIR = emulatedKernelsDir();
process.env.LMWB_F16_CONST_LD = '0';
process.env.XDG_RUNTIME_DIR ??= '/tmp';

const { openGpu } = await import('../../src-main/engine/gpu/device');
const { f32Kernels } = await import('../../src-main/engine/gpu/program');
const { parseModelConfig } = await import('../../src-main/engine/model/config');
const { initParameters, layoutParameters, parameterSpecs } = await import('../../src-main/engine/model/parameters');
const { TrainingRuntime } = await import('../../src-main/engine/model/runtime');
const { setF16TileForTests, tile } = await import('../../src-main/engine/kernels/linear-f16');

const gpu = await openGpu();
/** Whether the adapter can run the emulated tensor-core kernels (shader-f16). */
export const hasF16 = gpu.info.features.includes('shader-f16');
setF16TileForTests(tile(32, 64, 1, 2));

/** One layer, d_model 64 (one tile wide: q, k, v are three C blocks), 4 heads, vocabulary 64, batch 2 × 16 tokens. */
export function tinyModel(dFf: number) {
  const cfg = parseModelConfig({ vocab_size: 64, context_length: 16, d_model: 64, num_layers: 1, num_heads: 4, d_ff: dFf });
  const B = 2;
  const T = 16;
  const ids = Uint32Array.from({ length: B * T }, (_, i) => (i * 7 + 3) % 64);
  const targets = Uint32Array.from({ length: B * T }, (_, i) => (i * 5 + 1) % 64);
  const layout = layoutParameters(parameterSpecs(cfg));
  const init = initParameters(layout, 5);
  const kernels = { ...f32Kernels(gpu.device), linear: 'f16' as const, attention: 'f16' as const };
  /** stepResults of a fresh mixed-precision runtime built with these environment variables set. */
  async function run(env: Record<string, string>) {
    Object.assign(process.env, env);
    const rt = new TrainingRuntime(gpu, cfg, { batchSize: B, seqLen: T, maxGradNorm: 1, precision: 'mixed', kernels });
    try {
      return await stepResults(rt, init, ids, targets);
    } finally {
      rt.destroy();
    }
  }
  return { cfg, layout, init, run };
}

/** Undo the set-up (afterAll): the default tile, these environment variables removed, the device destroyed. */
export function tearDown(envNames: string[]): void {
  setF16TileForTests(undefined);
  for (const n of envNames) delete process.env[n];
  gpu.destroy();
}
