// linear_f16.wgsl's tiling, transposes, split-K, edge handling and accumulate checked on any adapter: the
// subgroup-matrix builtins are replaced by plain WGSL that computes the same 16×16 products (each invocation
// holding the whole matrix), so llvmpipe and CI run the kernel's own indexing code. This does not check the real
// builtins' data layouts; linear-f16.test.ts (needs subgroup matrices) and the matmul bench do.
import { afterAll, describe, expect, it } from 'vitest';
import { awkwardCases, checkCase, type Case } from './linear-helpers';
import { emulatedKernelsDir } from './emulated-subgroup-matrix';

process.env.LMWB_KERNELS_DIR = emulatedKernelsDir();
// The leading dimensions as constants (the engine's default) make one pipeline per shape, and llvmpipe compiles
// some of those very slowly (minutes: with the strides known, LLVM unrolls the emulation's loops): most cases read
// them from Params; the cldCases below run the default, constants and all.
process.env.LMWB_F16_CONST_LD = '0';
process.env.XDG_RUNTIME_DIR ??= '/tmp';

const { openGpu } = await import('../../src-main/engine/gpu/device');
const { f32Kernels } = await import('../../src-main/engine/gpu/program');
const { setF16TileForTests, tile } = await import('../../src-main/engine/kernels/linear-f16');
const gpu = await openGpu();
const ok = gpu.info.features.includes('shader-f16');

// The f16 linear kernels, recorded into each program (not checked against the adapter's features: emulated).
const f16Linear = { ...f32Kernels(gpu.device), linear: 'f16' as const };
afterAll(() => gpu.destroy());

// One small tile keeps llvmpipe compile times reasonable (a 4-subgroup tile takes minutes to compile there): two
// subgroups side by side, each with 2×2 accumulators, so every offset (subgroup, fragment row/column) is used.
const tiles = [tile(32, 64, 1, 2)];
const cases: Case[] = [
  ...awkwardCases.slice(0, 9),
  { op: 'backward_weight', rows: 1100, inF: 36, outF: 20, accumulate: true }, // split-K, vectorised
  { op: 'backward_weight', rows: 1100, inF: 37, outF: 21, xRows: 1102, xRow: 1, yRow: 0 }, // split-K, scalar, row range
  // f16 operands (mixed-precision training): vectorised (multiples of 8) and scalar (odd sizes, row ranges) paths
  // (few: each new combination of defines is another pipeline, and llvmpipe compiles these slowly)
  ...awkwardCases.slice(3, 6).map((c) => ({ ...c, half: true })), // odd sizes, row ranges, accumulate: scalar paths
  { op: 'forward', rows: 96, inF: 64, outF: 128, half: true },
  { op: 'backward_input', rows: 96, inF: 64, outF: 128, half: true, accumulate: true },
  { op: 'backward_weight', rows: 1100, inF: 40, outF: 24, half: true, accumulate: true }, // split-K, vectorised
];

// The default path (leading dimensions written into the kernel): each op once, with f16 operands and awkward
// sizes, plus split-K (whose partials have their own leading dimension).
const cldCases: Case[] = [
  { op: 'forward', rows: 70, inF: 33, outF: 65, xRows: 90, xRow: 11, yRows: 80, yRow: 5, accumulate: true, half: true },
  { op: 'backward_input', rows: 96, inF: 64, outF: 128, half: true, accumulate: true },
  { op: 'backward_weight', rows: 1100, inF: 40, outF: 24, half: true, accumulate: true },
];

describe.skipIf(!ok)('linear f16 kernel logic, leading dimensions as constants (emulated subgroup matrices)', () => {
  for (const c of cldCases) {
    it(`tile 32x64 1x2: ${c.op} rows ${c.rows} in ${c.inF} out ${c.outF}, f16 operands, constant leading dimensions`, async () => {
      setF16TileForTests(tiles[0]);
      delete process.env.LMWB_F16_CONST_LD;
      try {
        const r = await checkCase(gpu, c, f16Linear);
        expect(r.relErr).toBeLessThan(5e-3);
      } finally {
        process.env.LMWB_F16_CONST_LD = '0';
      }
    });
  }
});

// RES: the residual add fused into a forward GEMM (y = r + x·Wᵀ), interior and edge tiles, a row range, the
// leading dimensions as constants (as the model's output projections run).
const resCases: Case[] = [
  { op: 'forward', rows: 70, inF: 33, outF: 65, xRows: 90, xRow: 11, yRows: 80, yRow: 5, half: true, residual: true },
];

describe.skipIf(!ok)('linear f16 kernel logic, residual add fused (RES; emulated subgroup matrices)', () => {
  for (const c of resCases) {
    it(`tile 32x64 1x2: ${c.op} rows ${c.rows} in ${c.inF} out ${c.outF}, f16 operands, y = r + x·Wᵀ`, async () => {
      setF16TileForTests(tiles[0]);
      delete process.env.LMWB_F16_CONST_LD;
      process.env.LMWB_F16_RESIDUAL = '1';
      try {
        const r = await checkCase(gpu, c, f16Linear);
        expect(r.relErr).toBeLessThan(5e-3);
      } finally {
        process.env.LMWB_F16_CONST_LD = '0';
        delete process.env.LMWB_F16_RESIDUAL;
      }
    });
  }
});

describe.skipIf(!ok)('linear f16 kernel logic (emulated subgroup matrices)', () => {
  for (const t of tiles) {
    for (const c of cases) {
      it(`tile ${t.TM}x${t.TN} ${t.SR}x${t.SC} KS ${t.KS}: ${c.op} rows ${c.rows} in ${c.inF} out ${c.outF}${c.xRow || c.yRow ? ' (row range)' : ''}${c.accumulate ? ' accumulate' : ''}${c.half ? ', f16 operands' : ''}`, async () => {
        setF16TileForTests(t);
        const r = await checkCase(gpu, c, f16Linear);
        expect(r.relErr).toBeLessThan(5e-3);
      });
    }
  }
});
