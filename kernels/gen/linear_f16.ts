// Generator of kernels/linear_f16.wgsl, the tensor-core GEMM: the subgroup-matrix accumulators of one subgroup
// (an FI×FJ grid of 16×16 result blocks, with their FI left and FJ right operand blocks) must be separate WGSL
// variables, so every statement that touches them is written out here for the largest grid the kernel supports
// (maxFI × maxFJ); at run time the TM TN SR SC defines pick FI = TM/SR/16, FJ = TN/SC/16 and WGSL's const
// conditions (`if (FJ > 3u)`) drop the unused blocks at compile time. Also written once for both operands: the
// element, eight-half and vec4 loaders of A and B. Everything else is the kernel's text as is.
// `npm run gen:kernels` rewrites the file, `npm run check:generated` fails where it differs (kernels/gen/main.ts).
// Tuning (issue 16): a larger grid per subgroup is `maxFI`/`maxFJ` here plus the matching limit in
// src-main/engine/kernels/linear-f16.ts (f16Tile); a new pipeline structure (more workgroup-memory stages, other
// prefetch) is a change to the text below, regenerated and checked like any other.

/** The largest accumulator grid per subgroup that the generated kernel spells out. */
export interface LinearF16Options {
  /** Most 16-row blocks per subgroup (FI = TM / SR / 16 at run time may not exceed it). */
  maxFI: number;
  /** Most 16-column blocks per subgroup (FJ = TN / SC / 16). */
  maxFJ: number;
}

/** What the committed kernels/linear_f16.wgsl is generated with. */
export const LINEAR_F16_DEFAULTS: LinearF16Options = { maxFI: 4, maxFJ: 8 };

/** Subgroup-matrix block edge (16×16 f16 × 16×16 f16 → f32 on every backend Dawn exposes today). */
const BLOCK = 16;

/** `{ stmt }` for the block that always exists, `if (FI > 1u && FJ > 2u) { stmt }` for the others. */
function guarded(i: number, j: number, stmt: string): string {
  const conds = [...(i > 0 ? [`FI > ${i}u`] : []), ...(j > 0 ? [`FJ > ${j}u`] : [])];
  return conds.length === 0 ? `{ ${stmt} }` : `if (${conds.join(' && ')}) { ${stmt} }`;
}

/** Accumulator (i, j): c00 .. c37 while both fit one digit, c10_2 style beyond (never ambiguous). */
function acc(i: number, j: number, o: LinearF16Options): string {
  return o.maxFI <= 10 && o.maxFJ <= 10 ? `c${i}${j}` : `c${i}_${j}`;
}

/** Lines `indent + f(i, j)` over the accumulator grid, row-major. */
function grid(o: LinearF16Options, indent: string, f: (i: number, j: number) => string): string[] {
  const out: string[] = [];
  for (let i = 0; i < o.maxFI; i++) for (let j = 0; j < o.maxFJ; j++) out.push(indent + f(i, j));
  return out;
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

/** Element loader, eight-half loader and vec4 loader of operand A or B (x = 'a' | 'b'). */
function elementLoader(x: 'a' | 'b'): string {
  const X = x.toUpperCase();
  return `fn ${x}1(i: u32) -> f32 {
  if (H${X}) { return f32(bitcast<vec2<f16>>(${X}[i >> 3u][(i >> 1u) & 3u])[i & 1u]); }
  return ${X}[i >> 2u][i & 3u];
}`;
}

function halfLoader(x: 'a' | 'b'): string {
  const lanes = ['lo.x', 'lo.y', 'lo.z', 'lo.w', 'hi.x', 'hi.y', 'hi.z', 'hi.w'];
  const reads = lanes.map((l, e) => `  if (n > ${e}u) { ${l} = ${x}1(${e === 0 ? 'base' : `base + ${e}u`}); }`);
  return [`fn half8${x}(base: u32, n: u32) -> vec4f {`, '  var lo = vec4f(0.0);', '  var hi = vec4f(0.0);', ...reads,
    '  return pack8(lo, hi);', '}'].join('\n');
}

function vec4Loader(x: 'a' | 'b'): string {
  const X = x.toUpperCase();
  const el = (e: number): string => `${x}1(${e === 0 ? 'base' : `base + ${e}u`})`;
  const comps = ['x', 'y', 'z', 'w'];
  return [
    `fn load4${x}(o: u32, i: u32, oLim: u32, iLim: u32, checked: bool) -> vec4f {`,
    `  let base = p.off${X} + o * ld${x}() + ${x === 'a' ? 'inner_a(i)' : 'i'};`,
    '  if (!checked) {',
    `    if (V${X}) { return ${X}[base / E${X}]; }`,
    `    if (H${X}) { return half8${x}(base, 8u); }`,
    `    return vec4f(${range(4).map(el).join(', ')});`,
    '  }',
    '  var v = vec4f(0.0);',
    '  if (o >= oLim) { return v; }',
    `  if (V${X}) { if (i < iLim) { v = ${X}[base / E${X}]; } return v; }`,
    `  if (H${X}) { return half8${x}(base, select(0u, min(iLim - i, 8u), i < iLim)); }`,
    ...comps.map((c, e) => `  if (${e === 0 ? 'i' : `i + ${e}u`} < iLim) { v.${c} = ${el(e)}; }`),
    '  return v;',
    '}',
  ].join('\n');
}

/** The accumulator code of gemm(): declarations, accumulate-load, products, stores. */
function declarations(o: LinearF16Options): string[] {
  return [
    ...grid(o, '  ', (i, j) => `var ${acc(i, j, o)}: subgroup_matrix_result<f32, ${BLOCK}, ${BLOCK}>;`),
    ...range(o.maxFI).map((i) => `  var a${i}: subgroup_matrix_left<f16, ${BLOCK}, ${BLOCK}>;`),
    ...range(o.maxFJ).map((j) => `  var b${j}: subgroup_matrix_right<f16, ${BLOCK}, ${BLOCK}>;`),
  ];
}

function loadAccumulators(o: LinearF16Options): string[] {
  return ['  if (fullMN && (RES || p.accumulate != 0u)) {',
    ...grid(o, '    ', (i, j) => guarded(i, j, `${acc(i, j, o)} = load_c(offC, r0 + ${BLOCK * i}u, c0 + ${BLOCK * j}u);`)),
    '  }'];
}

function products(o: LinearF16Options): string[] {
  // BO: one right block at a time (FI products each), so that only one b register set is live; otherwise all FJ
  // right blocks are loaded first (LMWB_F16_BONE=0, kept for comparison: BENCHMARKS.md, "GEMM round 6").
  const oneB = range(o.maxFJ).map((j) => `        ${guarded(0, j, [`b0 = load_right(s, sc + ${BLOCK * j}u, tb);`,
    ...range(o.maxFI).map((i) => guarded(i, 0, `${acc(i, j, o)} = subgroupMatrixMultiplyAccumulate(a${i}, b0, ${acc(i, j, o)});`))].join(' '))}`);
  return [
    ...range(o.maxFI).map((i) => `      ${guarded(i, 0, `a${i} = load_left(sr + ${BLOCK * i}u, s, ta);`)}`),
    '      if (BO) {',
    ...oneB,
    '      } else {',
    ...range(o.maxFJ).map((j) => `        ${guarded(0, j, `b${j} = load_right(s, sc + ${BLOCK * j}u, tb);`)}`),
    ...grid(o, '        ', (i, j) => guarded(i, j, `${acc(i, j, o)} = subgroupMatrixMultiplyAccumulate(a${i}, b${j}, ${acc(i, j, o)});`)),
    '      }',
  ];
}

/** The K loop: `checked` is the bounds-check condition of the next step's loads (`false` in the fast copy). */
function kLoop(o: LinearF16Options, checked: string): string[] {
  return [`    loop {
      if (k0 >= kEnd) { break; }
      workgroupBarrier();
      for (var v = 0u; v < NA; v++) { put_a(li + v * WG, ra[v], ta); }
      for (var v = 0u; v < NB; v++) { put_b(li + v * WG, rb[v], tb); }
      workgroupBarrier();
      let kn = k0 + KS;
      if (kn < kEnd) {
        let checked = ${checked};
        for (var v = 0u; v < NA; v++) { ra[v] = fetch_a(li + v * WG, row0, kn, kEnd, ta, checked); }
        for (var v = 0u; v < NB; v++) { rb[v] = fetch_b(li + v * WG, col0, kn, kEnd, tb, checked); }
      }
      for (var s = 0u; s < KS; s += 16u) {`,
  ...products(o).map((l) => `  ${l}`),
  `      }
      k0 = kn;
    }`];
}

function stores(o: LinearF16Options): string[] {
  return ['  if (fullMN) {',
    ...grid(o, '    ', (i, j) => guarded(i, j, `store_full(${acc(i, j, o)}, offC, r0 + ${BLOCK * i}u, c0 + ${BLOCK * j}u);`)),
    '  } else {',
    ...grid(o, '    ', (i, j) => guarded(i, j, `store_edge(${acc(i, j, o)}, offC, r0 + ${BLOCK * i}u, c0 + ${BLOCK * j}u, sg, lane);`)),
    '  }'];
}

/** The kernel's full text. */
/** The GEMMs' extensions and uniform parameters: one layout, shared by linear_f16.wgsl and linear_f16_direct.wgsl
 * (the host fills one Params for either). */
export const GEMM_HEADER = `enable f16;
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
}`;

export function generateLinearF16(o: LinearF16Options = LINEAR_F16_DEFAULTS): string {
  if (!Number.isInteger(o.maxFI) || !Number.isInteger(o.maxFJ) || o.maxFI < 1 || o.maxFJ < 1) {
    throw new Error(`linear_f16 generator: maxFI and maxFJ must be positive integers (got ${o.maxFI}, ${o.maxFJ})`);
  }
  const header = `// linear on tensor cores: the same three GEMMs as linear.wgsl (same entry points, bindings and transposes), with
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
// This file is generated by kernels/gen/linear_f16.ts (edit that, then \`npm run gen:kernels\`), with the accumulator
// code written out for FI <= ${o.maxFI}, FJ <= ${o.maxFJ}; the const conditions drop the unused ones at compile time.
// defines: TM TN SR SC FI FJ KS PAD VA VB HA HB CLD LDA LDB LDC KBA BSA NBC BSC FL BO RES
${GEMM_HEADER}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> A: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> B: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> C: array<f32>;
// RES (forward only, no split-K): C = R + A·B, R laid out like C (the residual stream: the residual add fused into
// the output projections). The GEMM entry points always bind R; the host binds A there when RES is off.
@group(0) @binding(4) var<storage, read> R: array<f32>;

const WG: u32 = SR * SC * 32u;
// The GEMMs' leading dimensions: (CLD, the default) the host's LDA LDB LDC written in as constants, so that the
// compiler knows them (one pipeline per shape; 134 → 158 TFLOP/s on the H200, BENCHMARKS.md "GEMM round 4"), or
// Params' values.
fn lda() -> u32 { return select(p.lda, LDA, CLD); }
fn ldb() -> u32 { return select(p.ldb, LDB, CLD); }
fn ldc() -> u32 { return select(p.ldc, LDC, CLD); }
// Block-concatenated operands (fused GEMMs over tensors that sit in one buffer, e.g. q, k and v): with KBA > 0,
// A's inner coordinate i (k for linear_backward_input, m for linear_backward_weight) is split into blocks of KBA,
// block j starting BSA elements after block 0; with NBC > 0, C's column c likewise into blocks of NBC, BSC apart.
// Each mapping is per element, so a tile or a K step may straddle two blocks; one vector load (8 halves or 4
// floats) and one 16-column result block never do (the host checks), so the computed products are those of one
// GEMM over the concatenation.
fn inner_a(i: u32) -> u32 {
  if (KBA == 0u) { return i; }
  return (i / max(KBA, 1u)) * BSA + i % max(KBA, 1u);
}
fn col_c(c: u32) -> u32 {
  if (NBC == 0u) { return c; }
  return (c / max(NBC, 1u)) * BSC + c % max(NBC, 1u);
}
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

`;
  const loaders = `${elementLoader('a')}
${elementLoader('b')}

// Eight halves from element \`base\` of an f16 operand, those from the n-th on zero, packed into a vec4's bits.
// (Guarded with if, not select: select evaluates both operands, and the elements from the n-th on may lie past
// the end of the binding; without Dawn's robustness clamps that read is undefined.)
${halfLoader('a')}
${halfLoader('b')}
// Eight values as eight halves in a vec4<f32>'s bits (the register form of an f16 operand's load).
fn pack8(v0: vec4f, v1: vec4f) -> vec4f {
  return bitcast<vec4f>(vec4<u32>(pack2x16float(v0.xy), pack2x16float(v0.zw), pack2x16float(v1.xy), pack2x16float(v1.zw)));
}

// EA consecutive elements along the contiguous dimension (4 f32, or 8 halves in a vec4's bits), at (outer o,
// inner i) of the operand's storage; zero outside o < oLim, i < iLim when checked. (The f32 paths are kept exactly
// in this shape: a restructured version with helper calls ran 2x slower on the H100.)
${vec4Loader('a')}

${vec4Loader('b')}

`;
  const gemm = [
    `// Item it (0 .. TM·KS/4) of the A tile at (row0, k0): its outer/inner coordinates inside the tile.
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

// Interior tiles: C's old value, or with RES the residual's (scaled like the products), as the starting accumulator.
fn load_c(offC: u32, r: u32, c: u32) -> subgroup_matrix_result<f32, 16, 16> {
  if (RES) {
    let m = subgroupMatrixLoad<subgroup_matrix_result<f32, 16, 16>, row_major>(&R, offC + r * ldc() + col_c(c), ldc());
    return subgroupMatrixScalarMultiply(m, p.scaleA);
  }
  let m = subgroupMatrixLoad<subgroup_matrix_result<f32, 16, 16>, row_major>(&C, offC + r * ldc() + col_c(c), ldc());
  return subgroupMatrixScalarMultiply(m, p.scaleA);
}
fn store_full(m: subgroup_matrix_result<f32, 16, 16>, offC: u32, r: u32, c: u32) {
  subgroupMatrixStore<row_major>(&C, offC + r * ldc() + col_c(c), subgroupMatrixScalarMultiply(m, p.unscale), ldc());
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
      let o = offC + rr * ldc() + col_c(cc);
      let v = St[sg * 256u + e] * p.unscale;
      if (RES) { C[o] = R[o] + v; } else if (p.accumulate != 0u) { C[o] = C[o] + v; } else { C[o] = v; }
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
  let offC = p.offC + wg.z * p.splitStride;`,
    ...declarations(o),
    ...loadAccumulators(o),
    `  var ra: array<vec4f, NA>;
  var rb: array<vec4f, NB>;
  var k0 = kBegin;
  {
    let checked = !(fullMN && k0 + KS <= kEnd);
    for (var v = 0u; v < NA; v++) { ra[v] = fetch_a(li + v * WG, row0, k0, kEnd, ta, checked); }
    for (var v = 0u; v < NB; v++) { rb[v] = fetch_b(li + v * WG, col0, k0, kEnd, tb, checked); }
  }
  // FL: an interior tile whose K range is whole K steps runs a copy of the loop without any bounds checks.
  if (!(FL && fullMN && (kEnd - kBegin) % KS == 0u)) {`,
    ...kLoop(o, '!(fullMN && kn + KS <= kEnd)'),
    '  } else {',
    ...kLoop(o, 'false'),
    '  }',
    ...stores(o),
    `}

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

// The same four outputs per invocation (vec4 loads of the partials; the same sums in the same order, so the same
// values bit for bit) where N, ldc, offA, offC and splitStride are multiples of 4 (the host checks).
@compute @workgroup_size(256)
fn linear_splitk_reduce4(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let idx = 4u * (gid.x + gid.y * nwg.x * 256u);
  if (idx >= p.M * p.N) { return; }
  let m = idx / p.N;
  let n = idx % p.N;
  var s = vec4f(0.0);
  for (var z = 0u; z < p.K; z++) { s += A[(p.offA + z * p.splitStride + idx) >> 2u]; }
  let o = p.offC + m * p.ldc + n;
  if (p.accumulate != 0u) { s += vec4f(C[o], C[o + 1u], C[o + 2u], C[o + 3u]); }
  C[o] = s.x; C[o + 1u] = s.y; C[o + 2u] = s.z; C[o + 3u] = s.w;
}
`,
  ].join('\n');
  return `${header}${loaders}${gemm}`;
}
