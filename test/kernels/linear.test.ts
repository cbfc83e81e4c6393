// Both variants of the f32 linear kernel (linear.wgsl) against a float64 CPU GEMM at awkward shapes; runs on any adapter.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openGpu, type Gpu } from '../../src-main/engine/gpu/device';
import { f32Kernels } from '../../src-main/engine/gpu/program';
import { awkwardCases, checkCase } from './linear-helpers';

let gpu: Gpu;
beforeAll(async () => {
  process.env.XDG_RUNTIME_DIR ??= '/tmp';
  gpu = await openGpu();
});
afterAll(() => gpu?.destroy());

for (const variant of ['gpu', 'cpu'] as const) describe(`linear f32 (${variant} variant)`, () => {
  for (const c of awkwardCases) {
    const name = `${c.op} rows ${c.rows} in ${c.inF} out ${c.outF}${c.xRow || c.yRow ? ` xRow ${c.xRow ?? 0} yRow ${c.yRow ?? 0}` : ''}${c.accumulate ? ' accumulate' : ''}`;
    it(name, async () => {
      const r = await checkCase(gpu, c, { ...f32Kernels(gpu.device), f32Variant: variant });
      expect(r.relErr).toBeLessThan(1e-5);
    });
  }
});
