// linear_f16.wgsl's tiling, transposes, split-K, edge handling and accumulate checked on any adapter: the
// subgroup-matrix builtins are replaced by plain WGSL that computes the same 16×16 products (each invocation
// holding the whole matrix), so llvmpipe and CI run the kernel's own indexing code. This does not check the real
// builtins' data layouts; linear-f16.test.ts (needs subgroup matrices) and the matmul bench do.
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { awkwardCases, checkCase, type Case } from './linear-helpers';

const EMULATION = `
// Left/right matrices are references into As/Bs (which do not change between load and use); a result matrix is
// spread over the 32 lanes of a subgroup, 8 elements each (element e = lane + 32·t), like the real thing.
struct SRef { off: u32, stride: u32, col: u32 }
struct SAcc { v: array<f32, 8> }
var<private> emu_lane: u32;
fn sm_ref(col: bool, off: u32, stride: u32) -> SRef { return SRef(off, stride, select(0u, 1u, col)); }
fn sm_at(m: SRef, r: u32, c: u32) -> u32 { return select(m.off + r * m.stride + c, m.off + c * m.stride + r, m.col != 0u); }
fn sm_load_C(col: bool, off: u32, stride: u32) -> SAcc {
  var m: SAcc;
  for (var t = 0u; t < 8u; t++) { let e = emu_lane + 32u * t; m.v[t] = C[off + (e / 16u) * stride + e % 16u]; }
  return m;
}
fn sm_store_C(off: u32, m: SAcc, stride: u32) {
  for (var t = 0u; t < 8u; t++) { let e = emu_lane + 32u * t; C[off + (e / 16u) * stride + e % 16u] = m.v[t]; }
}
fn sm_store_St(off: u32, m: SAcc, stride: u32) {
  for (var t = 0u; t < 8u; t++) { let e = emu_lane + 32u * t; St[off + (e / 16u) * stride + e % 16u] = m.v[t]; }
}
fn sm_mma(a: SRef, b: SRef, acc: SAcc) -> SAcc {
  var m = acc;
  for (var t = 0u; t < 8u; t++) {
    let e = emu_lane + 32u * t;
    let r = e / 16u;
    let c = e % 16u;
    var s = 0.0;
    for (var k = 0u; k < 16u; k++) { s += f32(As[sm_at(a, r, k)]) * f32(Bs[sm_at(b, k, c)]); }
    m.v[t] += s;
  }
  return m;
}
fn sm_scale(a: SAcc, s: f32) -> SAcc {
  var m = a;
  for (var t = 0u; t < 8u; t++) { m.v[t] *= s; }
  return m;
}
`;

export function emulate(src: string): string {
  let s = src
    .replace(/^enable chromium_experimental_subgroup_matrix;\s*$/m, '')
    .replace(/^enable subgroup_size_control;\s*$/m, '')
    .replace(/ @subgroup_size\(32\)/g, '')
    .replace(/@builtin\(subgroup_id\) sgi: u32, @builtin\(subgroup_invocation_id\) lane: u32/g, '@builtin(local_invocation_id) lid3: vec3u')
    .replace(/gemm\(wg, li, sgi, lane,/g, 'gemm(wg, li, li / 32u, li % 32u,')
    .replace(/subgroupMatrixLoad<subgroup_matrix_(?:left|right)<f16, 16, 16>, (row|col)_major>\(&(?:As|Bs), /g, (_m, l) => `sm_ref(${l === 'col'}, `)
    .replace(/subgroupMatrixLoad<subgroup_matrix_result<f32, 16, 16>, row_major>\(&C, /g, 'sm_load_C(false, ')
    .replace(/subgroupMatrixStore<row_major>\(&(C|St), /g, (_m, b) => `sm_store_${b}(`)
    .replace(/subgroupMatrixMultiplyAccumulate\(/g, 'sm_mma(')
    .replace(/subgroupMatrixScalarMultiply\(/g, 'sm_scale(')
    .replace(/subgroup_matrix_(?:left|right)<f16, 16, 16>/g, 'SRef')
    .replace(/subgroup_matrix_result<f32, 16, 16>/g, 'SAcc')
    .replace(/(fn gemm\([^)]*\) \{)/, '$1\n  emu_lane = lane;');
  if (/subgroup_matrix|subgroupMatrix/.test(s)) throw new Error('emulation left a subgroup-matrix builtin');
  s += EMULATION;
  return s;
}

const dir = mkdtempSync(join(tmpdir(), 'lmwb-f16emu-'));
const kernels = resolve(__dirname, '../../kernels');
copyFileSync(join(kernels, 'linear.wgsl'), join(dir, 'linear.wgsl'));
copyFileSync(join(kernels, 'cast.wgsl'), join(dir, 'cast.wgsl'));
mkdirSync(join(dir, 'include'));
for (const f of readdirSync(join(kernels, 'include'))) copyFileSync(join(kernels, 'include', f), join(dir, 'include', f));
writeFileSync(join(dir, 'linear_f16.wgsl'), emulate(readFileSync(join(kernels, 'linear_f16.wgsl'), 'utf8')));
process.env.LMWB_KERNELS_DIR = dir;
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
