// Emulated subgroup matrices for the tensor-core kernels (linear_f16.wgsl, linear_f16_direct.wgsl, attention_f16.wgsl): the builtins are
// replaced by plain WGSL computing the same 16×16 products (each invocation holds 8 elements of a result, like the
// real thing), so llvmpipe and CI run the kernels' own indexing, tiling and masking. This does not check the real
// builtins' data layouts: linear-f16.test.ts, attention-f16.test.ts and the benches do that on a GPU with them.
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateLinearF16Direct, type LinearF16DirectOptions } from '../../kernels/gen/linear_f16_direct';

export const realKernelsDir = fileURLToPath(new URL('../../kernels', import.meta.url));

const LINEAR_EMULATION = `
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
fn sm_load_R(col: bool, off: u32, stride: u32) -> SAcc {
  var m: SAcc;
  for (var t = 0u; t < 8u; t++) { let e = emu_lane + 32u * t; m.v[t] = R[off + (e / 16u) * stride + e % 16u]; }
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

/** linear_f16.wgsl with its subgroup-matrix builtins replaced by plain WGSL. */
export function emulateLinearF16(src: string): string {
  let s = src
    .replace(/^enable chromium_experimental_subgroup_matrix;\s*$/m, '')
    .replace(/^enable subgroup_size_control;\s*$/m, '')
    .replace(/ @subgroup_size\(32\)/g, '')
    .replace(/@builtin\(subgroup_id\) sgi: u32, @builtin\(subgroup_invocation_id\) lane: u32/g, '@builtin(local_invocation_id) lid3: vec3u')
    .replace(/gemm\(wg, li, sgi, lane,/g, 'gemm(wg, li, li / 32u, li % 32u,')
    .replace(/subgroupMatrixLoad<subgroup_matrix_(?:left|right)<f16, 16, 16>, (row|col)_major>\(&(?:As|Bs), /g, (_m, l) => `sm_ref(${l === 'col'}, `)
    .replace(/subgroupMatrixLoad<subgroup_matrix_result<f32, 16, 16>, row_major>\(&(C|R), /g, (_m, b) => `sm_load_${b}(false, `)
    .replace(/subgroupMatrixStore<row_major>\(&(C|St), /g, (_m, b) => `sm_store_${b}(`)
    .replace(/subgroupMatrixMultiplyAccumulate\(/g, 'sm_mma(')
    .replace(/subgroupMatrixScalarMultiply\(/g, 'sm_scale(')
    .replace(/subgroup_matrix_(?:left|right)<f16, 16, 16>/g, 'SRef')
    .replace(/subgroup_matrix_result<f32, 16, 16>/g, 'SAcc')
    .replace(/(fn gemm\([^)]*\) \{)/, '$1\n  emu_lane = lane;');
  if (/subgroup_matrix|subgroupMatrix/.test(s)) throw new Error('emulation left a subgroup-matrix builtin');
  s += LINEAR_EMULATION;
  return s;
}

// linear_f16_direct.wgsl: left blocks are references into A, right blocks into B (storage, read-only). Loop bounds
// include emu_zero (p.K >> 31: zero, unknown to the compiler) so that llvmpipe does not unroll them.
const LINEAR_DIRECT_EMULATION = `
struct SRef { off: u32, stride: u32, col: u32 }
struct SAcc { v: array<f32, 8> }
var<private> emu_lane: u32;
var<private> emu_zero: u32;
fn sm_ref(col: bool, off: u32, stride: u32) -> SRef { return SRef(off, stride, select(0u, 1u, col)); }
fn sm_at(m: SRef, r: u32, c: u32) -> u32 { return select(m.off + r * m.stride + c, m.off + c * m.stride + r, m.col != 0u); }
fn sm_load_C(col: bool, off: u32, stride: u32) -> SAcc {
  var m: SAcc;
  for (var t = 0u; t < 8u + emu_zero; t++) { let e = emu_lane + 32u * t; m.v[t] = C[off + (e / 16u) * stride + e % 16u]; }
  return m;
}
fn sm_store_C(off: u32, m: SAcc, stride: u32) {
  for (var t = 0u; t < 8u + emu_zero; t++) { let e = emu_lane + 32u * t; C[off + (e / 16u) * stride + e % 16u] = m.v[t]; }
}
fn sm_mma(a: SRef, b: SRef, acc: SAcc) -> SAcc {
  var m = acc;
  for (var t = 0u; t < 8u + emu_zero; t++) {
    let e = emu_lane + 32u * t;
    var s = 0.0;
    for (var k = 0u; k < 16u + emu_zero; k++) { s += f32(A[sm_at(a, e / 16u, k)]) * f32(B[sm_at(b, k, e % 16u)]); }
    m.v[t] += s;
  }
  return m;
}
`;

/** linear_f16_direct.wgsl with its subgroup-matrix builtins replaced by plain WGSL. */
export function emulateLinearF16Direct(src: string): string {
  const s = src
    .replace(/^enable chromium_experimental_subgroup_matrix;\s*$/m, '')
    .replace(/^enable subgroup_size_control;\s*$/m, '')
    .replace(/ @subgroup_size\(32\)/g, '')
    .replace(/@builtin\(subgroup_id\) sgi: u32/g, '@builtin(local_invocation_index) li: u32')
    .replace(/gemm\(wg, sgi,/g, 'emu_lane = li % 32u;\n  emu_zero = p.K >> 31u;\n  gemm(wg, li / 32u,')
    .replace(/subgroupMatrixLoad<subgroup_matrix_(?:left|right)<f16, 16, 16>, (row|col)_major>\(&(?:A|B), /g, (_m, l) => `sm_ref(${l === 'col'}, `)
    .replace(/subgroupMatrixLoad<subgroup_matrix_result<f32, 16, 16>, row_major>\(&C, /g, 'sm_load_C(false, ')
    .replace(/subgroupMatrixStore<row_major>\(&C, /g, 'sm_store_C(')
    .replace(/subgroupMatrixMultiplyAccumulate\(/g, 'sm_mma(')
    .replace(/subgroup_matrix_(?:left|right)<f16, 16, 16>/g, 'SRef')
    .replace(/subgroup_matrix_result<f32, 16, 16>/g, 'SAcc');
  if (/subgroup_matrix|subgroupMatrix/.test(s)) throw new Error('emulation left a subgroup-matrix builtin');
  return s + LINEAR_DIRECT_EMULATION;
}

// Plain-WGSL stand-ins for the section between the primitive markers of attention_f16.wgsl.
const EMULATED_PRIMITIVES = `
// emulated subgroup matrices: Left/Right are references into H (unchanged between load and use in this kernel);
// a result is spread over the 32 lanes of a subgroup, 8 elements each (element e = lane + 32·t, row-major).
// Loop bounds include p.pad (0) so that llvmpipe's compiler does not unroll them (minutes of compile time otherwise).
struct Left { off: u32, stride: u32, col: u32 }
alias Right = Left;
struct Acc { v: array<f32, 8> }
var<private> emu_lane: u32;
fn load_left(off: u32, stride: u32) -> Left { return Left(off, stride, 0u); }
fn load_right(off: u32, stride: u32) -> Right { return Left(off, stride, 0u); }
fn load_right_t(off: u32, stride: u32) -> Right { return Left(off, stride, 1u); }
fn load_left_t(off: u32, stride: u32) -> Left { return Left(off, stride, 1u); }
fn store_acc(m: Acc, off: u32, stride: u32) {
  for (var t = 0u; t < 8u + p.pad; t++) { let e = emu_lane + 32u * t; F[off + (e / 16u) * stride + e % 16u] = m.v[t]; }
}
fn emu_at(m: Left, r: u32, c: u32) -> u32 { return select(m.off + r * m.stride + c, m.off + c * m.stride + r, m.col != 0u); }
fn emu_mma(a: Left, b: Right, acc: Acc) -> Acc {
  var m = acc;
  for (var t = 0u; t < 8u + p.pad; t++) {
    let e = emu_lane + 32u * t;
    var s = 0.0;
    for (var kk = 0u; kk < 16u + p.pad; kk++) { s += f32(H[emu_at(a, e / 16u, kk)]) * f32(H[emu_at(b, kk, e % 16u)]); }
    m.v[t] += s;
  }
  return m;
}
`;

/** attention_f16.wgsl with the section between its primitive markers replaced by plain WGSL. */
export function emulateAttentionF16(src: string): string {
  const start = src.indexOf('// ---- subgroup-matrix primitives');
  const end = src.indexOf('// ---- end of subgroup-matrix primitives ----');
  if (start < 0 || end < 0) throw new Error('attention_f16.wgsl: primitive markers not found');
  const s = (src.slice(0, start) + EMULATED_PRIMITIVES + src.slice(end))
    .replace(/^enable chromium_experimental_subgroup_matrix;\s*$/m, '')
    .replace(/^enable subgroup_size_control;\s*$/m, '')
    .replace(/ @subgroup_size\(32\)/g, '')
    .replace(/\s*@diagnostic\(off, chromium\.subgroup_matrix_uniformity\)/g, '\n')
    .replace(/@builtin\(subgroup_id\) sg: u32/g, '@builtin(local_invocation_id) emu_id: vec3u')
    .replace(/(\w+)\(wg, li, sg\);/g, 'emu_lane = li % 32u;\n  $1(wg, li, li / 32u);')
    .replace(/subgroupMatrixMultiplyAccumulate\(/g, 'emu_mma(');
  if (/subgroup_matrix|subgroupMatrix/.test(s)) throw new Error('emulation left a subgroup-matrix builtin');
  return s;
}

/**
 * A temporary copy of kernels/ with the tensor-core kernels emulated (point LMWB_KERNELS_DIR at it before the
 * first pipeline is built), for tests that record whole models with the f16 kernels on any adapter.
 */
export function emulatedKernelsDir(o: { directGrid?: LinearF16DirectOptions } = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'lmwb-emulated-kernels-'));
  cpSync(realKernelsDir, dir, { recursive: true });
  writeFileSync(join(dir, 'linear_f16.wgsl'), emulateLinearF16(readFileSync(join(realKernelsDir, 'linear_f16.wgsl'), 'utf8')));
  // directGrid: linear_f16_direct.wgsl generated for a smaller largest grid (llvmpipe compiles the full one slowly;
  // the tiles a test uses must fit it).
  const direct = o.directGrid ? generateLinearF16Direct(o.directGrid) : readFileSync(join(realKernelsDir, 'linear_f16_direct.wgsl'), 'utf8');
  writeFileSync(join(dir, 'linear_f16_direct.wgsl'), emulateLinearF16Direct(direct));
  writeFileSync(join(dir, 'attention_f16.wgsl'), emulateAttentionF16(readFileSync(join(realKernelsDir, 'attention_f16.wgsl'), 'utf8')));
  return dir;
}
