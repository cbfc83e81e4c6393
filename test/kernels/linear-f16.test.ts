// The tensor-core linear kernel (linear_f16.wgsl) against a float64 CPU GEMM. Needs an adapter with subgroup
// matrices (chromium-experimental-subgroup-matrix); elsewhere (llvmpipe, CI) the suite is skipped.
import { afterAll, describe, expect, it } from 'vitest';
import { openGpu, type Gpu } from '../../src-main/engine/gpu/device';
import { f32Kernels } from '../../src-main/engine/gpu/program';
import { awkwardCases, checkCase, type Case } from './linear-helpers';

process.env.XDG_RUNTIME_DIR ??= '/tmp';
const gpu: Gpu = await openGpu();
const supported = gpu.info.subgroupMatrix && gpu.info.features.includes('shader-f16');
if (!supported) {
  console.warn(`linear-f16 tests skipped: ${gpu.info.name} has no subgroup matrices (chromium-experimental-subgroup-matrix); ` +
    'run them on a GPU that has them (the matmul bench checks the same kernel on the device machine)');
}

const cases: Case[] = [
  ...awkwardCases,
  { op: 'forward', rows: 256, inF: 512, outF: 1344 },
  { op: 'backward_input', rows: 256, inF: 512, outF: 1344 },
  { op: 'backward_weight', rows: 2048, inF: 512, outF: 1344 },
  { op: 'backward_weight', rows: 4096, inF: 64, outF: 100, accumulate: true },
];

afterAll(() => gpu.destroy());

describe.skipIf(!supported)('linear f16 (subgroup matrices)', () => {
  for (const c of cases) {
    const name = `${c.op} rows ${c.rows} in ${c.inF} out ${c.outF}${c.xRow || c.yRow ? ` xRow ${c.xRow ?? 0} yRow ${c.yRow ?? 0}` : ''}${c.accumulate ? ' accumulate' : ''}`;
    it(name, async () => {
      const r = await checkCase(gpu, c, { ...f32Kernels(gpu.device), linear: 'f16' });
      // f16 inputs: relative rounding 2^-11 per operand, sums of up to thousands of products
      expect(r.relErr).toBeLessThan(5e-3);
    });
  }
});
