// linear_f16_direct.wgsl (f16 operands loaded by the subgroup-matrix loads straight from storage) checked on any
// adapter with its builtins emulated in plain WGSL (emulated-subgroup-matrix.ts): tiling, the two register sets
// taking turns (odd and even numbers of 16-wide K slices), split-K, row ranges and accumulate, against a float64
// CPU product. The tile is forced small (llvmpipe compiles large ones slowly); every case is one the direct
// kernel covers exactly, and the tile choice (which GEMMs get the direct kernel) is checked without a GPU.
import { afterAll, describe, expect, it } from 'vitest';
import { checkCase, type Case } from './linear-helpers';
import { emulatedKernelsDir } from './emulated-subgroup-matrix';

// The kernel generated for at most 2×2 blocks per subgroup (the same generator; llvmpipe compiles the committed
// 5×5 grid for minutes per entry point).
process.env.LMWB_KERNELS_DIR = emulatedKernelsDir({ directGrid: { maxFI: 2, maxFJ: 2 } });
// Any fall-back to linear_f16 reads its leading dimensions from Params (fewer, faster llvmpipe pipelines; see
// linear-f16-emulated.test.ts).
process.env.LMWB_F16_CONST_LD = '0';
process.env.XDG_RUNTIME_DIR ??= '/tmp';

const { openGpu } = await import('../../src-main/engine/gpu/device');
const { f32Kernels } = await import('../../src-main/engine/gpu/program');
const { chooseDirectTile, directTile } = await import('../../src-main/engine/kernels/linear-f16');

describe('direct tile choice', () => {
  it('covers the CS336 shapes exactly and leaves ragged ones to linear_f16.wgsl', () => {
    const shapes: Array<[number, number, number]> = [
      [32768, 512, 512], [32768, 1344, 512], [32768, 512, 1344], [512, 512, 32768], [1344, 512, 32768], [512, 1344, 32768],
      [6656, 10000, 512], [6656, 512, 10000], [10000, 512, 6656],
    ];
    for (const [M, N, K] of shapes) {
      const t = chooseDirectTile(M, N, K);
      expect(t, `${M}x${N}x${K}`).toBeDefined();
      if (!t) continue;
      expect(M % t.TM).toBe(0);
      expect(N % t.TN).toBe(0);
      expect(t.FI * t.FJ).toBeGreaterThanOrEqual(8);
    }
    expect(chooseDirectTile(32768, 512, 512)).toEqual(directTile(128, 128, 2, 2));
    expect(chooseDirectTile(37, 512, 512)).toBeUndefined();
    expect(chooseDirectTile(128, 512, 40)).toBeUndefined();
    expect(() => directTile(96, 96, 1, 1)).toThrow(/bad direct f16 tile/);
  });
});

const gpu = await openGpu();
const ok = gpu.info.features.includes('shader-f16');
const f16Linear = { ...f32Kernels(gpu.device), linear: 'f16' as const };
afterAll(() => gpu.destroy());

// 32×64 from 1×2 subgroups of 2×2 blocks: every subgroup and block offset is used.
const TILE = '32,64,1,2';
const cases: Case[] = [
  { op: 'forward', rows: 64, inF: 48, outF: 128, half: true }, // 3 K slices: ends on register set X
  { op: 'backward_input', rows: 96, inF: 64, outF: 128, half: true, accumulate: true }, // 8 K slices: ends on Y
  { op: 'forward', rows: 32, inF: 64, outF: 64, xRows: 40, xRow: 3, yRows: 45, yRow: 7, half: true, accumulate: true },
  { op: 'backward_weight', rows: 1104, inF: 64, outF: 32, half: true, accumulate: true }, // split-K 4, last chunk 240
  { op: 'backward_weight', rows: 48, inF: 128, outF: 64, xRows: 60, xRow: 5, yRows: 50, yRow: 2, half: true },
];

describe.skipIf(!ok)('linear f16 direct kernel logic (emulated subgroup matrices)', () => {
  for (const c of cases) {
    it(`${c.op} rows ${c.rows} in ${c.inF} out ${c.outF}${c.xRow || c.yRow ? ' (row range)' : ''}${c.accumulate ? ' accumulate' : ''}`, { timeout: 300_000 }, async () => {
      process.env.LMWB_F16_DIRECT = '1';
      process.env.LMWB_F16_DIRECT_TILE = TILE;
      try {
        const [M, N, K] = c.op === 'forward' ? [c.rows, c.outF, c.inF] : c.op === 'backward_input' ? [c.rows, c.inF, c.outF] : [c.outF, c.inF, c.rows];
        expect(chooseDirectTile(M, N, K)).toEqual(directTile(32, 64, 1, 2));
        const r = await checkCase(gpu, c, f16Linear);
        expect(r.relErr).toBeLessThan(5e-3);
      } finally {
        delete process.env.LMWB_F16_DIRECT;
        delete process.env.LMWB_F16_DIRECT_TILE;
      }
    });
  }
});
