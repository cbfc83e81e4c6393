// linear on tensor cores: the same three GEMMs as linear.wgsl (same entry points, bindings and transposes), with
// products on subgroup matrices (16×16 f16 × 16×16 f16 → f32) and f32 accumulation. Each operand is either f32 in
// global memory (converted to f16 on the way into workgroup memory) or already f16 (HA / HB: copied as is, half
// the bytes). Both kinds are bound as array<vec4<f32>>; an f16 operand's vec4 holds 8 halves, taken apart with
// bitcast.
//   forward          C = x · Wᵀ      A = x (row-major, k contiguous),   B(k,n) = W[n,k] (k contiguous)
//   backward_input   C = dy · W      A = dy (row-major),                B = W (row-major, n contiguous)
//   backward_weight  C = dyᵀ · x     A(m,k) = dy[k,m] (m contiguous),   B = x (row-major)
// Tiles are kept in workgroup memory in the operand's own storage order (padded rows) and read with row_major or
// col_major subgroup-matrix loads, so every global load is a contiguous run of EA (EB) elements: 4 for f32, 8 for
// f16, one vec4 load when aligned (VA / VB).
// A workgroup computes a TM×TN tile of C with SR×SC subgroups of 32 lanes, each holding FI×FJ 16×16 accumulators;
// K advances KS per step, with the next step's global loads in flight (in registers) while the current one is
// multiplied (loading straight into workgroup memory instead measured 15-70% slower on the H100). Interior tiles
// load and store without bounds checks; edge tiles zero-fill on load and store through workgroup memory element by
// element. Split-K: workgroup z covers K range [z·kChunk, (z+1)·kChunk) and writes its
// partial sum at C + z·splitStride; linear_splitk_reduce adds the partials (f32) into the real output.
// An f32 A is multiplied by scaleA before the f16 conversion (a power of two, to keep small gradients out of the f16
// subnormal range) and results by unscale = 1/scaleA; an f16 A must come with scaleA = 1 (the host checks).
// This file is generated with the accumulator code written out for FI <= 4, FJ <= 8; the const conditions
// drop the unused ones at compile time.
// defines: TM TN SR SC FI FJ KS PAD VA VB HA HB
enable f16;
enable subgroups;
enable subgroup_size_control;
enable chromium_experimental_subgroup_matrix;

struct Params {
  M: u32, N: u32, K: u32,
  lda: u32, ldb: u32, ldc: u32,
  offA: u32, offB: u32, offC: u32,
  accumulate: u32,
  kChunk: u32,
  splitStride: u32,
  scaleA: f32,
  unscale: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> A: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> B: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> C: array<f32>;

const WG: u32 = SR * SC * 32u;
const ASTR_N: u32 = KS + PAD;  // A not transposed: As[m][k]
const ASTR_T: u32 = TM + PAD;  // A transposed:     As[k][m]
const BSTR_T: u32 = KS + PAD;  // B transposed:     Bs[n][k]
const BSTR_N: u32 = TN + PAD;  // B not transposed: Bs[k][n]
const EA: u32 = select(4u, 8u, HA);
const EB: u32 = select(4u, 8u, HB);
const NA: u32 = TM * KS / EA / WG;
const NB: u32 = TN * KS / EB / WG;
var<workgroup> As: array<f16, max(TM * ASTR_N, KS * ASTR_T)>;
var<workgroup> Bs: array<f16, max(TN * BSTR_T, KS * BSTR_N)>;
var<workgroup> St: array<f32, SR * SC * 256u>;

fn a1(i: u32) -> f32 {
  if (HA) { return f32(bitcast<vec2<f16>>(A[i >> 3u][(i >> 1u) & 3u])[i & 1u]); }
  return A[i >> 2u][i & 3u];
}
fn b1(i: u32) -> f32 {
  if (HB) { return f32(bitcast<vec2<f16>>(B[i >> 3u][(i >> 1u) & 3u])[i & 1u]); }
  return B[i >> 2u][i & 3u];
}

// Eight halves from element `base` of an f16 operand, those from the n-th on zero, packed into a vec4's bits.
// (Guarded with if, not select: select evaluates both operands, and the elements from the n-th on may lie past
// the end of the binding; without Dawn's robustness clamps that read is undefined.)
fn half8a(base: u32, n: u32) -> vec4f {
  var lo = vec4f(0.0);
  var hi = vec4f(0.0);
  if (n > 0u) { lo.x = a1(base); }
  if (n > 1u) { lo.y = a1(base + 1u); }
  if (n > 2u) { lo.z = a1(base + 2u); }
  if (n > 3u) { lo.w = a1(base + 3u); }
  if (n > 4u) { hi.x = a1(base + 4u); }
  if (n > 5u) { hi.y = a1(base + 5u); }
  if (n > 6u) { hi.z = a1(base + 6u); }
  if (n > 7u) { hi.w = a1(base + 7u); }
  return pack8(lo, hi);
}
fn half8b(base: u32, n: u32) -> vec4f {
  var lo = vec4f(0.0);
  var hi = vec4f(0.0);
  if (n > 0u) { lo.x = b1(base); }
  if (n > 1u) { lo.y = b1(base + 1u); }
  if (n > 2u) { lo.z = b1(base + 2u); }
  if (n > 3u) { lo.w = b1(base + 3u); }
  if (n > 4u) { hi.x = b1(base + 4u); }
  if (n > 5u) { hi.y = b1(base + 5u); }
  if (n > 6u) { hi.z = b1(base + 6u); }
  if (n > 7u) { hi.w = b1(base + 7u); }
  return pack8(lo, hi);
}
// Eight values as eight halves in a vec4<f32>'s bits (the register form of an f16 operand's load).
fn pack8(v0: vec4f, v1: vec4f) -> vec4f {
  return bitcast<vec4f>(vec4<u32>(pack2x16float(v0.xy), pack2x16float(v0.zw), pack2x16float(v1.xy), pack2x16float(v1.zw)));
}

// EA consecutive elements along the contiguous dimension (4 f32, or 8 halves in a vec4's bits), at (outer o,
// inner i) of the operand's storage; zero outside o < oLim, i < iLim when checked. (The f32 paths are kept exactly
// in this shape: a restructured version with helper calls ran 2x slower on the H100.)
fn load4a(o: u32, i: u32, oLim: u32, iLim: u32, checked: bool) -> vec4f {
  let base = p.offA + o * p.lda + i;
  if (!checked) {
    if (VA) { return A[base / EA]; }
    if (HA) { return half8a(base, 8u); }
    return vec4f(a1(base), a1(base + 1u), a1(base + 2u), a1(base + 3u));
  }
  var v = vec4f(0.0);
  if (o >= oLim) { return v; }
  if (VA) { if (i < iLim) { v = A[base / EA]; } return v; }
  if (HA) { return half8a(base, select(0u, min(iLim - i, 8u), i < iLim)); }
  if (i < iLim) { v.x = a1(base); }
  if (i + 1u < iLim) { v.y = a1(base + 1u); }
  if (i + 2u < iLim) { v.z = a1(base + 2u); }
  if (i + 3u < iLim) { v.w = a1(base + 3u); }
  return v;
}

fn load4b(o: u32, i: u32, oLim: u32, iLim: u32, checked: bool) -> vec4f {
  let base = p.offB + o * p.ldb + i;
  if (!checked) {
    if (VB) { return B[base / EB]; }
    if (HB) { return half8b(base, 8u); }
    return vec4f(b1(base), b1(base + 1u), b1(base + 2u), b1(base + 3u));
  }
  var v = vec4f(0.0);
  if (o >= oLim) { return v; }
  if (VB) { if (i < iLim) { v = B[base / EB]; } return v; }
  if (HB) { return half8b(base, select(0u, min(iLim - i, 8u), i < iLim)); }
  if (i < iLim) { v.x = b1(base); }
  if (i + 1u < iLim) { v.y = b1(base + 1u); }
  if (i + 2u < iLim) { v.z = b1(base + 2u); }
  if (i + 3u < iLim) { v.w = b1(base + 3u); }
  return v;
}

// Item it (0 .. TM·KS/4) of the A tile at (row0, k0): its outer/inner coordinates inside the tile.
fn item_a(it: u32, ta: bool) -> vec2u {
  if (ta) { return vec2u(it / (TM / EA), (it % (TM / EA)) * EA); } // outer k, inner m
  return vec2u(it / (KS / EA), (it % (KS / EA)) * EA);             // outer m, inner k
}
fn item_b(it: u32, tb: bool) -> vec2u {
  if (tb) { return vec2u(it / (KS / EB), (it % (KS / EB)) * EB); } // outer n, inner k
  return vec2u(it / (TN / EB), (it % (TN / EB)) * EB);             // outer k, inner n
}

fn fetch_a(it: u32, row0: u32, k0: u32, kEnd: u32, ta: bool, checked: bool) -> vec4f {
  let t = item_a(it, ta);
  if (ta) { return load4a(k0 + t.x, row0 + t.y, kEnd, p.M, checked); }
  return load4a(row0 + t.x, k0 + t.y, p.M, kEnd, checked);
}
fn fetch_b(it: u32, col0: u32, k0: u32, kEnd: u32, tb: bool, checked: bool) -> vec4f {
  let t = item_b(it, tb);
  if (tb) { return load4b(col0 + t.x, k0 + t.y, p.N, kEnd, checked); }
  return load4b(k0 + t.x, col0 + t.y, kEnd, p.N, checked);
}

fn put_a(it: u32, v: vec4f, ta: bool) {
  let t = item_a(it, ta);
  let o = t.x * select(ASTR_N, ASTR_T, ta) + t.y;
  if (HA) {
    let h0 = bitcast<vec2<f16>>(v.x); let h1 = bitcast<vec2<f16>>(v.y);
    let h2 = bitcast<vec2<f16>>(v.z); let h3 = bitcast<vec2<f16>>(v.w);
    As[o] = h0.x; As[o + 1u] = h0.y; As[o + 2u] = h1.x; As[o + 3u] = h1.y;
    As[o + 4u] = h2.x; As[o + 5u] = h2.y; As[o + 6u] = h3.x; As[o + 7u] = h3.y;
  } else {
    let h = vec4<f16>(v * p.scaleA);
    As[o] = h.x; As[o + 1u] = h.y; As[o + 2u] = h.z; As[o + 3u] = h.w;
  }
}
fn put_b(it: u32, v: vec4f, tb: bool) {
  let t = item_b(it, tb);
  let o = t.x * select(BSTR_N, BSTR_T, tb) + t.y;
  if (HB) {
    let h0 = bitcast<vec2<f16>>(v.x); let h1 = bitcast<vec2<f16>>(v.y);
    let h2 = bitcast<vec2<f16>>(v.z); let h3 = bitcast<vec2<f16>>(v.w);
    Bs[o] = h0.x; Bs[o + 1u] = h0.y; Bs[o + 2u] = h1.x; Bs[o + 3u] = h1.y;
    Bs[o + 4u] = h2.x; Bs[o + 5u] = h2.y; Bs[o + 6u] = h3.x; Bs[o + 7u] = h3.y;
  } else {
    let h = vec4<f16>(v);
    Bs[o] = h.x; Bs[o + 1u] = h.y; Bs[o + 2u] = h.z; Bs[o + 3u] = h.w;
  }
}

// 16×16 blocks of the tiles in workgroup memory: left (m, k) at tile row m, k; right (k, n).
fn load_left(m: u32, k: u32, ta: bool) -> subgroup_matrix_left<f16, 16, 16> {
  if (ta) { return subgroupMatrixLoad<subgroup_matrix_left<f16, 16, 16>, col_major>(&As, k * ASTR_T + m, ASTR_T); }
  return subgroupMatrixLoad<subgroup_matrix_left<f16, 16, 16>, row_major>(&As, m * ASTR_N + k, ASTR_N);
}
fn load_right(k: u32, n: u32, tb: bool) -> subgroup_matrix_right<f16, 16, 16> {
  if (tb) { return subgroupMatrixLoad<subgroup_matrix_right<f16, 16, 16>, col_major>(&Bs, n * BSTR_T + k, BSTR_T); }
  return subgroupMatrixLoad<subgroup_matrix_right<f16, 16, 16>, row_major>(&Bs, k * BSTR_N + n, BSTR_N);
}

// Interior tiles: C's old value (scaled like the products) as the starting accumulator, for accumulate.
fn load_c(offC: u32, r: u32, c: u32) -> subgroup_matrix_result<f32, 16, 16> {
  let m = subgroupMatrixLoad<subgroup_matrix_result<f32, 16, 16>, row_major>(&C, offC + r * p.ldc + c, p.ldc);
  return subgroupMatrixScalarMultiply(m, p.scaleA);
}
fn store_full(m: subgroup_matrix_result<f32, 16, 16>, offC: u32, r: u32, c: u32) {
  subgroupMatrixStore<row_major>(&C, offC + r * p.ldc + c, subgroupMatrixScalarMultiply(m, p.unscale), p.ldc);
}
// Edge tiles: through this subgroup's 16×16 slot of workgroup memory, then element-wise with bounds checks.
fn store_edge(m: subgroup_matrix_result<f32, 16, 16>, offC: u32, r: u32, c: u32, sg: u32, lane: u32) {
  workgroupBarrier();
  subgroupMatrixStore<row_major>(&St, sg * 256u, m, 16u);
  workgroupBarrier();
  for (var t = 0u; t < 8u; t++) {
    let e = lane + t * 32u;
    let rr = r + e / 16u;
    let cc = c + e % 16u;
    if (rr < p.M && cc < p.N) {
      let o = offC + rr * p.ldc + cc;
      let v = St[sg * 256u + e] * p.unscale;
      if (p.accumulate != 0u) { C[o] = C[o] + v; } else { C[o] = v; }
    }
  }
}

fn gemm(wg: vec3u, li: u32, sg: u32, lane: u32, ta: bool, tb: bool) {
  let row0 = wg.y * TM;
  let col0 = wg.x * TN;
  let kBegin = wg.z * p.kChunk;
  let kEnd = min(p.K, kBegin + p.kChunk);
  let fullMN = row0 + TM <= p.M && col0 + TN <= p.N;
  let sr = (sg / SC) * (FI * 16u);
  let sc = (sg % SC) * (FJ * 16u);
  let r0 = row0 + sr;
  let c0 = col0 + sc;
  let offC = p.offC + wg.z * p.splitStride;
  var c00: subgroup_matrix_result<f32, 16, 16>;
  var c01: subgroup_matrix_result<f32, 16, 16>;
  var c02: subgroup_matrix_result<f32, 16, 16>;
  var c03: subgroup_matrix_result<f32, 16, 16>;
  var c04: subgroup_matrix_result<f32, 16, 16>;
  var c05: subgroup_matrix_result<f32, 16, 16>;
  var c06: subgroup_matrix_result<f32, 16, 16>;
  var c07: subgroup_matrix_result<f32, 16, 16>;
  var c10: subgroup_matrix_result<f32, 16, 16>;
  var c11: subgroup_matrix_result<f32, 16, 16>;
  var c12: subgroup_matrix_result<f32, 16, 16>;
  var c13: subgroup_matrix_result<f32, 16, 16>;
  var c14: subgroup_matrix_result<f32, 16, 16>;
  var c15: subgroup_matrix_result<f32, 16, 16>;
  var c16: subgroup_matrix_result<f32, 16, 16>;
  var c17: subgroup_matrix_result<f32, 16, 16>;
  var c20: subgroup_matrix_result<f32, 16, 16>;
  var c21: subgroup_matrix_result<f32, 16, 16>;
  var c22: subgroup_matrix_result<f32, 16, 16>;
  var c23: subgroup_matrix_result<f32, 16, 16>;
  var c24: subgroup_matrix_result<f32, 16, 16>;
  var c25: subgroup_matrix_result<f32, 16, 16>;
  var c26: subgroup_matrix_result<f32, 16, 16>;
  var c27: subgroup_matrix_result<f32, 16, 16>;
  var c30: subgroup_matrix_result<f32, 16, 16>;
  var c31: subgroup_matrix_result<f32, 16, 16>;
  var c32: subgroup_matrix_result<f32, 16, 16>;
  var c33: subgroup_matrix_result<f32, 16, 16>;
  var c34: subgroup_matrix_result<f32, 16, 16>;
  var c35: subgroup_matrix_result<f32, 16, 16>;
  var c36: subgroup_matrix_result<f32, 16, 16>;
  var c37: subgroup_matrix_result<f32, 16, 16>;
  var a0: subgroup_matrix_left<f16, 16, 16>;
  var a1: subgroup_matrix_left<f16, 16, 16>;
  var a2: subgroup_matrix_left<f16, 16, 16>;
  var a3: subgroup_matrix_left<f16, 16, 16>;
  var b0: subgroup_matrix_right<f16, 16, 16>;
  var b1: subgroup_matrix_right<f16, 16, 16>;
  var b2: subgroup_matrix_right<f16, 16, 16>;
  var b3: subgroup_matrix_right<f16, 16, 16>;
  var b4: subgroup_matrix_right<f16, 16, 16>;
  var b5: subgroup_matrix_right<f16, 16, 16>;
  var b6: subgroup_matrix_right<f16, 16, 16>;
  var b7: subgroup_matrix_right<f16, 16, 16>;
  if (fullMN && p.accumulate != 0u) {
    { c00 = load_c(offC, r0 + 0u, c0 + 0u); }
    if (FJ > 1u) { c01 = load_c(offC, r0 + 0u, c0 + 16u); }
    if (FJ > 2u) { c02 = load_c(offC, r0 + 0u, c0 + 32u); }
    if (FJ > 3u) { c03 = load_c(offC, r0 + 0u, c0 + 48u); }
    if (FJ > 4u) { c04 = load_c(offC, r0 + 0u, c0 + 64u); }
    if (FJ > 5u) { c05 = load_c(offC, r0 + 0u, c0 + 80u); }
    if (FJ > 6u) { c06 = load_c(offC, r0 + 0u, c0 + 96u); }
    if (FJ > 7u) { c07 = load_c(offC, r0 + 0u, c0 + 112u); }
    if (FI > 1u) { c10 = load_c(offC, r0 + 16u, c0 + 0u); }
    if (FI > 1u && FJ > 1u) { c11 = load_c(offC, r0 + 16u, c0 + 16u); }
    if (FI > 1u && FJ > 2u) { c12 = load_c(offC, r0 + 16u, c0 + 32u); }
    if (FI > 1u && FJ > 3u) { c13 = load_c(offC, r0 + 16u, c0 + 48u); }
    if (FI > 1u && FJ > 4u) { c14 = load_c(offC, r0 + 16u, c0 + 64u); }
    if (FI > 1u && FJ > 5u) { c15 = load_c(offC, r0 + 16u, c0 + 80u); }
    if (FI > 1u && FJ > 6u) { c16 = load_c(offC, r0 + 16u, c0 + 96u); }
    if (FI > 1u && FJ > 7u) { c17 = load_c(offC, r0 + 16u, c0 + 112u); }
    if (FI > 2u) { c20 = load_c(offC, r0 + 32u, c0 + 0u); }
    if (FI > 2u && FJ > 1u) { c21 = load_c(offC, r0 + 32u, c0 + 16u); }
    if (FI > 2u && FJ > 2u) { c22 = load_c(offC, r0 + 32u, c0 + 32u); }
    if (FI > 2u && FJ > 3u) { c23 = load_c(offC, r0 + 32u, c0 + 48u); }
    if (FI > 2u && FJ > 4u) { c24 = load_c(offC, r0 + 32u, c0 + 64u); }
    if (FI > 2u && FJ > 5u) { c25 = load_c(offC, r0 + 32u, c0 + 80u); }
    if (FI > 2u && FJ > 6u) { c26 = load_c(offC, r0 + 32u, c0 + 96u); }
    if (FI > 2u && FJ > 7u) { c27 = load_c(offC, r0 + 32u, c0 + 112u); }
    if (FI > 3u) { c30 = load_c(offC, r0 + 48u, c0 + 0u); }
    if (FI > 3u && FJ > 1u) { c31 = load_c(offC, r0 + 48u, c0 + 16u); }
    if (FI > 3u && FJ > 2u) { c32 = load_c(offC, r0 + 48u, c0 + 32u); }
    if (FI > 3u && FJ > 3u) { c33 = load_c(offC, r0 + 48u, c0 + 48u); }
    if (FI > 3u && FJ > 4u) { c34 = load_c(offC, r0 + 48u, c0 + 64u); }
    if (FI > 3u && FJ > 5u) { c35 = load_c(offC, r0 + 48u, c0 + 80u); }
    if (FI > 3u && FJ > 6u) { c36 = load_c(offC, r0 + 48u, c0 + 96u); }
    if (FI > 3u && FJ > 7u) { c37 = load_c(offC, r0 + 48u, c0 + 112u); }
  }
  var ra: array<vec4f, NA>;
  var rb: array<vec4f, NB>;
  var k0 = kBegin;
  {
    let checked = !(fullMN && k0 + KS <= kEnd);
    for (var v = 0u; v < NA; v++) { ra[v] = fetch_a(li + v * WG, row0, k0, kEnd, ta, checked); }
    for (var v = 0u; v < NB; v++) { rb[v] = fetch_b(li + v * WG, col0, k0, kEnd, tb, checked); }
  }
  loop {
    if (k0 >= kEnd) { break; }
    workgroupBarrier();
    for (var v = 0u; v < NA; v++) { put_a(li + v * WG, ra[v], ta); }
    for (var v = 0u; v < NB; v++) { put_b(li + v * WG, rb[v], tb); }
    workgroupBarrier();
    let kn = k0 + KS;
    if (kn < kEnd) {
      let checked = !(fullMN && kn + KS <= kEnd);
      for (var v = 0u; v < NA; v++) { ra[v] = fetch_a(li + v * WG, row0, kn, kEnd, ta, checked); }
      for (var v = 0u; v < NB; v++) { rb[v] = fetch_b(li + v * WG, col0, kn, kEnd, tb, checked); }
    }
    for (var s = 0u; s < KS; s += 16u) {
      { a0 = load_left(sr + 0u, s, ta); }
      if (FI > 1u) { a1 = load_left(sr + 16u, s, ta); }
      if (FI > 2u) { a2 = load_left(sr + 32u, s, ta); }
      if (FI > 3u) { a3 = load_left(sr + 48u, s, ta); }
      { b0 = load_right(s, sc + 0u, tb); }
      if (FJ > 1u) { b1 = load_right(s, sc + 16u, tb); }
      if (FJ > 2u) { b2 = load_right(s, sc + 32u, tb); }
      if (FJ > 3u) { b3 = load_right(s, sc + 48u, tb); }
      if (FJ > 4u) { b4 = load_right(s, sc + 64u, tb); }
      if (FJ > 5u) { b5 = load_right(s, sc + 80u, tb); }
      if (FJ > 6u) { b6 = load_right(s, sc + 96u, tb); }
      if (FJ > 7u) { b7 = load_right(s, sc + 112u, tb); }
      { c00 = subgroupMatrixMultiplyAccumulate(a0, b0, c00); }
      if (FJ > 1u) { c01 = subgroupMatrixMultiplyAccumulate(a0, b1, c01); }
      if (FJ > 2u) { c02 = subgroupMatrixMultiplyAccumulate(a0, b2, c02); }
      if (FJ > 3u) { c03 = subgroupMatrixMultiplyAccumulate(a0, b3, c03); }
      if (FJ > 4u) { c04 = subgroupMatrixMultiplyAccumulate(a0, b4, c04); }
      if (FJ > 5u) { c05 = subgroupMatrixMultiplyAccumulate(a0, b5, c05); }
      if (FJ > 6u) { c06 = subgroupMatrixMultiplyAccumulate(a0, b6, c06); }
      if (FJ > 7u) { c07 = subgroupMatrixMultiplyAccumulate(a0, b7, c07); }
      if (FI > 1u) { c10 = subgroupMatrixMultiplyAccumulate(a1, b0, c10); }
      if (FI > 1u && FJ > 1u) { c11 = subgroupMatrixMultiplyAccumulate(a1, b1, c11); }
      if (FI > 1u && FJ > 2u) { c12 = subgroupMatrixMultiplyAccumulate(a1, b2, c12); }
      if (FI > 1u && FJ > 3u) { c13 = subgroupMatrixMultiplyAccumulate(a1, b3, c13); }
      if (FI > 1u && FJ > 4u) { c14 = subgroupMatrixMultiplyAccumulate(a1, b4, c14); }
      if (FI > 1u && FJ > 5u) { c15 = subgroupMatrixMultiplyAccumulate(a1, b5, c15); }
      if (FI > 1u && FJ > 6u) { c16 = subgroupMatrixMultiplyAccumulate(a1, b6, c16); }
      if (FI > 1u && FJ > 7u) { c17 = subgroupMatrixMultiplyAccumulate(a1, b7, c17); }
      if (FI > 2u) { c20 = subgroupMatrixMultiplyAccumulate(a2, b0, c20); }
      if (FI > 2u && FJ > 1u) { c21 = subgroupMatrixMultiplyAccumulate(a2, b1, c21); }
      if (FI > 2u && FJ > 2u) { c22 = subgroupMatrixMultiplyAccumulate(a2, b2, c22); }
      if (FI > 2u && FJ > 3u) { c23 = subgroupMatrixMultiplyAccumulate(a2, b3, c23); }
      if (FI > 2u && FJ > 4u) { c24 = subgroupMatrixMultiplyAccumulate(a2, b4, c24); }
      if (FI > 2u && FJ > 5u) { c25 = subgroupMatrixMultiplyAccumulate(a2, b5, c25); }
      if (FI > 2u && FJ > 6u) { c26 = subgroupMatrixMultiplyAccumulate(a2, b6, c26); }
      if (FI > 2u && FJ > 7u) { c27 = subgroupMatrixMultiplyAccumulate(a2, b7, c27); }
      if (FI > 3u) { c30 = subgroupMatrixMultiplyAccumulate(a3, b0, c30); }
      if (FI > 3u && FJ > 1u) { c31 = subgroupMatrixMultiplyAccumulate(a3, b1, c31); }
      if (FI > 3u && FJ > 2u) { c32 = subgroupMatrixMultiplyAccumulate(a3, b2, c32); }
      if (FI > 3u && FJ > 3u) { c33 = subgroupMatrixMultiplyAccumulate(a3, b3, c33); }
      if (FI > 3u && FJ > 4u) { c34 = subgroupMatrixMultiplyAccumulate(a3, b4, c34); }
      if (FI > 3u && FJ > 5u) { c35 = subgroupMatrixMultiplyAccumulate(a3, b5, c35); }
      if (FI > 3u && FJ > 6u) { c36 = subgroupMatrixMultiplyAccumulate(a3, b6, c36); }
      if (FI > 3u && FJ > 7u) { c37 = subgroupMatrixMultiplyAccumulate(a3, b7, c37); }
    }
    k0 = kn;
  }
  if (fullMN) {
    { store_full(c00, offC, r0 + 0u, c0 + 0u); }
    if (FJ > 1u) { store_full(c01, offC, r0 + 0u, c0 + 16u); }
    if (FJ > 2u) { store_full(c02, offC, r0 + 0u, c0 + 32u); }
    if (FJ > 3u) { store_full(c03, offC, r0 + 0u, c0 + 48u); }
    if (FJ > 4u) { store_full(c04, offC, r0 + 0u, c0 + 64u); }
    if (FJ > 5u) { store_full(c05, offC, r0 + 0u, c0 + 80u); }
    if (FJ > 6u) { store_full(c06, offC, r0 + 0u, c0 + 96u); }
    if (FJ > 7u) { store_full(c07, offC, r0 + 0u, c0 + 112u); }
    if (FI > 1u) { store_full(c10, offC, r0 + 16u, c0 + 0u); }
    if (FI > 1u && FJ > 1u) { store_full(c11, offC, r0 + 16u, c0 + 16u); }
    if (FI > 1u && FJ > 2u) { store_full(c12, offC, r0 + 16u, c0 + 32u); }
    if (FI > 1u && FJ > 3u) { store_full(c13, offC, r0 + 16u, c0 + 48u); }
    if (FI > 1u && FJ > 4u) { store_full(c14, offC, r0 + 16u, c0 + 64u); }
    if (FI > 1u && FJ > 5u) { store_full(c15, offC, r0 + 16u, c0 + 80u); }
    if (FI > 1u && FJ > 6u) { store_full(c16, offC, r0 + 16u, c0 + 96u); }
    if (FI > 1u && FJ > 7u) { store_full(c17, offC, r0 + 16u, c0 + 112u); }
    if (FI > 2u) { store_full(c20, offC, r0 + 32u, c0 + 0u); }
    if (FI > 2u && FJ > 1u) { store_full(c21, offC, r0 + 32u, c0 + 16u); }
    if (FI > 2u && FJ > 2u) { store_full(c22, offC, r0 + 32u, c0 + 32u); }
    if (FI > 2u && FJ > 3u) { store_full(c23, offC, r0 + 32u, c0 + 48u); }
    if (FI > 2u && FJ > 4u) { store_full(c24, offC, r0 + 32u, c0 + 64u); }
    if (FI > 2u && FJ > 5u) { store_full(c25, offC, r0 + 32u, c0 + 80u); }
    if (FI > 2u && FJ > 6u) { store_full(c26, offC, r0 + 32u, c0 + 96u); }
    if (FI > 2u && FJ > 7u) { store_full(c27, offC, r0 + 32u, c0 + 112u); }
    if (FI > 3u) { store_full(c30, offC, r0 + 48u, c0 + 0u); }
    if (FI > 3u && FJ > 1u) { store_full(c31, offC, r0 + 48u, c0 + 16u); }
    if (FI > 3u && FJ > 2u) { store_full(c32, offC, r0 + 48u, c0 + 32u); }
    if (FI > 3u && FJ > 3u) { store_full(c33, offC, r0 + 48u, c0 + 48u); }
    if (FI > 3u && FJ > 4u) { store_full(c34, offC, r0 + 48u, c0 + 64u); }
    if (FI > 3u && FJ > 5u) { store_full(c35, offC, r0 + 48u, c0 + 80u); }
    if (FI > 3u && FJ > 6u) { store_full(c36, offC, r0 + 48u, c0 + 96u); }
    if (FI > 3u && FJ > 7u) { store_full(c37, offC, r0 + 48u, c0 + 112u); }
  } else {
    { store_edge(c00, offC, r0 + 0u, c0 + 0u, sg, lane); }
    if (FJ > 1u) { store_edge(c01, offC, r0 + 0u, c0 + 16u, sg, lane); }
    if (FJ > 2u) { store_edge(c02, offC, r0 + 0u, c0 + 32u, sg, lane); }
    if (FJ > 3u) { store_edge(c03, offC, r0 + 0u, c0 + 48u, sg, lane); }
    if (FJ > 4u) { store_edge(c04, offC, r0 + 0u, c0 + 64u, sg, lane); }
    if (FJ > 5u) { store_edge(c05, offC, r0 + 0u, c0 + 80u, sg, lane); }
    if (FJ > 6u) { store_edge(c06, offC, r0 + 0u, c0 + 96u, sg, lane); }
    if (FJ > 7u) { store_edge(c07, offC, r0 + 0u, c0 + 112u, sg, lane); }
    if (FI > 1u) { store_edge(c10, offC, r0 + 16u, c0 + 0u, sg, lane); }
    if (FI > 1u && FJ > 1u) { store_edge(c11, offC, r0 + 16u, c0 + 16u, sg, lane); }
    if (FI > 1u && FJ > 2u) { store_edge(c12, offC, r0 + 16u, c0 + 32u, sg, lane); }
    if (FI > 1u && FJ > 3u) { store_edge(c13, offC, r0 + 16u, c0 + 48u, sg, lane); }
    if (FI > 1u && FJ > 4u) { store_edge(c14, offC, r0 + 16u, c0 + 64u, sg, lane); }
    if (FI > 1u && FJ > 5u) { store_edge(c15, offC, r0 + 16u, c0 + 80u, sg, lane); }
    if (FI > 1u && FJ > 6u) { store_edge(c16, offC, r0 + 16u, c0 + 96u, sg, lane); }
    if (FI > 1u && FJ > 7u) { store_edge(c17, offC, r0 + 16u, c0 + 112u, sg, lane); }
    if (FI > 2u) { store_edge(c20, offC, r0 + 32u, c0 + 0u, sg, lane); }
    if (FI > 2u && FJ > 1u) { store_edge(c21, offC, r0 + 32u, c0 + 16u, sg, lane); }
    if (FI > 2u && FJ > 2u) { store_edge(c22, offC, r0 + 32u, c0 + 32u, sg, lane); }
    if (FI > 2u && FJ > 3u) { store_edge(c23, offC, r0 + 32u, c0 + 48u, sg, lane); }
    if (FI > 2u && FJ > 4u) { store_edge(c24, offC, r0 + 32u, c0 + 64u, sg, lane); }
    if (FI > 2u && FJ > 5u) { store_edge(c25, offC, r0 + 32u, c0 + 80u, sg, lane); }
    if (FI > 2u && FJ > 6u) { store_edge(c26, offC, r0 + 32u, c0 + 96u, sg, lane); }
    if (FI > 2u && FJ > 7u) { store_edge(c27, offC, r0 + 32u, c0 + 112u, sg, lane); }
    if (FI > 3u) { store_edge(c30, offC, r0 + 48u, c0 + 0u, sg, lane); }
    if (FI > 3u && FJ > 1u) { store_edge(c31, offC, r0 + 48u, c0 + 16u, sg, lane); }
    if (FI > 3u && FJ > 2u) { store_edge(c32, offC, r0 + 48u, c0 + 32u, sg, lane); }
    if (FI > 3u && FJ > 3u) { store_edge(c33, offC, r0 + 48u, c0 + 48u, sg, lane); }
    if (FI > 3u && FJ > 4u) { store_edge(c34, offC, r0 + 48u, c0 + 64u, sg, lane); }
    if (FI > 3u && FJ > 5u) { store_edge(c35, offC, r0 + 48u, c0 + 80u, sg, lane); }
    if (FI > 3u && FJ > 6u) { store_edge(c36, offC, r0 + 48u, c0 + 96u, sg, lane); }
    if (FI > 3u && FJ > 7u) { store_edge(c37, offC, r0 + 48u, c0 + 112u, sg, lane); }
  }
}

@compute @workgroup_size(WG) @subgroup_size(32)
fn linear_forward(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) li: u32, @builtin(subgroup_id) sgi: u32, @builtin(subgroup_invocation_id) lane: u32) {
  gemm(wg, li, sgi, lane, false, true);
}

@compute @workgroup_size(WG) @subgroup_size(32)
fn linear_backward_input(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) li: u32, @builtin(subgroup_id) sgi: u32, @builtin(subgroup_invocation_id) lane: u32) {
  gemm(wg, li, sgi, lane, false, false);
}

@compute @workgroup_size(WG) @subgroup_size(32)
fn linear_backward_weight(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) li: u32, @builtin(subgroup_id) sgi: u32, @builtin(subgroup_invocation_id) lane: u32) {
  gemm(wg, li, sgi, lane, true, false);
}

// Split-K: C[m,n] (+)= Σ_z P[z·splitStride + m·N + n], P bound as A, the number of partials in K.
@compute @workgroup_size(256)
fn linear_splitk_reduce(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let idx = gid.x + gid.y * nwg.x * 256u;
  if (idx >= p.M * p.N) { return; }
  let m = idx / p.N;
  let n = idx % p.N;
  var s = 0.0;
  for (var z = 0u; z < p.K; z++) { let ii = p.offA + z * p.splitStride + idx; s += A[ii >> 2u][ii & 3u]; }
  let o = p.offC + m * p.ldc + n;
  if (p.accumulate != 0u) { C[o] = C[o] + s; } else { C[o] = s; }
}
