// Generator of kernels/attention_f16.wgsl, causal attention on tensor cores: a head vector of DK channels is
// NC = DK/16 subgroup-matrix blocks, and subgroup matrices must be separate WGSL variables, so every statement
// on them (the rows of Q or K loaded once, the P·V / dS·K / Pᵀ·dO / dSᵀ·Q accumulators and their stores) is written
// out here for the largest head dimension the kernel supports (maxNC blocks); at run time the DK define gives NC
// and WGSL's const conditions (`if (NC > 3u)`) drop the unused blocks at compile time. The rest is the kernel's
// text as is. `npm run gen:kernels` rewrites the file, `npm run check:generated` fails where it differs
// (kernels/gen/main.ts). A larger head dimension is `maxNC` here plus F16_MAX_HEAD_DIM in
// src-main/engine/kernels/attention-f16.ts (and a check that the workgroup memory still fits).

/** How much of the kernel is written out. */
export interface AttentionF16Options {
  /** Most 16-channel blocks of a head vector (DK = 16·NC at run time may not exceed 16·maxNC). */
  maxNC: number;
}

/** What the committed kernels/attention_f16.wgsl is generated with (head dimension up to 128). */
export const ATTENTION_F16_DEFAULTS: AttentionF16Options = { maxNC: 8 };

/** Subgroup-matrix block edge (16×16 f16 × 16×16 f16 → f32). */
const BLOCK = 16;

/**
 * One line per block n < maxNC: `stmt` with $n the block's index and $o its first channel (16·n); guarded lines
 * are `{ stmt }` for block 0, which always exists, and `if (NC > nu) { stmt }` for the others.
 */
function unroll(o: AttentionF16Options, indent: string, stmt: string, guarded: boolean): string {
  return Array.from({ length: o.maxNC }, (_, n) => {
    const s = stmt.replaceAll('$n', String(n)).replaceAll('$o', String(BLOCK * n));
    return indent + (!guarded ? s : n === 0 ? `{ ${s} }` : `if (NC > ${n}u) { ${s} }`);
  }).join('\n');
}

/** backward_key, and (ds) backward_key_ds: the same pass that also writes its dSᵀ tiles to dst for backward_dq. */
function backwardKey(o: AttentionF16Options, ds: boolean): string {
  return `@diagnostic(off, chromium.subgroup_matrix_uniformity)
fn backward_key${ds ? '_ds' : ''}(wg: vec3u, li: u32, sg: u32) {
  let h = wg.x;
  let b = wg.y;
  let j0 = wg.z * BQ; // first key of this workgroup (longest blocks, the first ones, first)
  let base = b * p.sB + h * p.sH;
  let rows = (b * p.H + h) * p.T;
  let s = li / 32u;
  let lane = li % 32u;
  let r = lane >> 1u;
  let hh = lane & 1u;
  let key = j0 + s * 16u + r;
  let sTile = S_OFF + s * 16u * SS + r * SS;
  let dpTile = DP_OFF + s * 16u * SS + r * SS;
  let pTile = P_OFF + s * 16u * SP + r * SP;
  let dsTile = DS_OFF + s * 16u * SP + r * SP;
  let key0 = j0 + sg * 16u; // first key of subgroup sg

  load_tile(1u, base, j0, BQ, A_OFF, li);
  load_tile(2u, base, j0, BQ, B_OFF, li);
${unroll(o, '  ', 'var av$n: Acc;', false)}
${unroll(o, '  ', 'var ak$n: Acc;', false)}
  var lp: Left;
  var ls: Left;
  let iStart = (j0 / BK) * BK;
  var qr = fetch_rows(0u, base, iStart, li);
  var dr = fetch_rows(3u, base, iStart, li);
  var xr = fetch_stats(rows, iStart, li);
  for (var i0 = iStart; i0 < p.T; i0 += BK) {
    workgroupBarrier();
    put_rows(qr, C_OFF, li);
    put_rows(dr, D_OFF, li);
    put_stats(xr, li);
    if (i0 + BK < p.T) {
      qr = fetch_rows(0u, base, i0 + BK, li);
      dr = fetch_rows(3u, base, i0 + BK, li);
      xr = fetch_stats(rows, i0 + BK, li);
    }
    workgroupBarrier();
    // query chunk j (queries i0+16j ..) is seen by some key of this subgroup iff i0 + 16j + 15 >= key0
    let jlo = select(0u, (key0 - i0) / 16u, key0 > i0);
    let jhi = min(NJ, (p.T - i0 + 15u) / 16u);
    products(A_OFF + sg * 16u * SH, C_OFF, S_OFF + sg * 16u * SS, jlo, jhi);
    products(B_OFF + sg * 16u * SH, D_OFF, DP_OFF + sg * 16u * SS, jlo, jhi);
    workgroupBarrier();
    for (var i = 0u; i < BK / 8u; i++) {
      let c = hh * (BK / 2u) + 4u * i;
      let t = vec4<u32>(i0 + c) + vec4<u32>(0u, 1u, 2u, 3u);
      let ok = (t >= vec4<u32>(key)) & (t < vec4<u32>(p.T));
      let pe = select(vec4<f32>(0.0), exp(f4(sTile + c) * p.scale - f4(X_OFF + c)), ok);
      put4(pTile + c, pe);
      put4(dsTile + c, select(vec4<f32>(0.0), pe * (f4(dpTile + c) - f4(X_OFF + BK + c)), ok));
    }
    workgroupBarrier();
${ds ? '    write_ds(rows, j0 + s * 16u, i0, DS_OFF + s * 16u * SP, lane);\n' : ''}    for (var j = jlo; j < jhi; j++) {
      lp = load_left(P_OFF + sg * 16u * SP + j * 16u, SP);
      ls = load_left(DS_OFF + sg * 16u * SP + j * 16u, SP);
      let yq = C_OFF + j * 16u * SH;
      let yd = D_OFF + j * 16u * SH;
${unroll(o, '      ', 'av$n = subgroupMatrixMultiplyAccumulate(lp, load_right(yd + $ou, SH), av$n); ak$n = subgroupMatrixMultiplyAccumulate(ls, load_right(yq + $ou, SH), ak$n);', true)}
    }
  }
${unroll(o, '  ', 'emit_dv(av$n, $nu, sg, li, base, j0, 1.0); emit_dk(ak$n, $nu, sg, li, base, j0, p.scale);', true)}
}
`;
}

/** The kernel's full text. */
export function generateAttentionF16(o: AttentionF16Options = ATTENTION_F16_DEFAULTS): string {
  if (!Number.isInteger(o.maxNC) || o.maxNC < 1) throw new Error(`attention_f16 generator: maxNC must be a positive integer (got ${o.maxNC})`);
  return `// causal multi-head attention on tensor cores: the same op, tensors and conventions as attention.wgsl (f32
// tensors, element (b, h, t, c) at b·sB + h·sH + t·sT + c, lse = row log-sum-exp of the scaled scores), with the
// head vectors converted to f16 on the way into workgroup memory, products on subgroup matrices
// (16×16 f16 × 16×16 f16 → f32) and the softmax statistics in f32.
//
// Tiling. A workgroup has NSG subgroups of 32 lanes and owns BQ = 16·NSG rows of one (b, h): query rows in the
// forward and backward_query passes, key rows in backward_key. Subgroup sg handles 16 of those rows. The other
// operand streams through workgroup memory in blocks of BK rows (keys, or queries in backward_key). Per block a
// subgroup computes its 16×BK score tile S (and dP) with subgroup matrices, stores it (f32) to workgroup memory,
// where its 32 lanes do the elementwise softmax work — lane (2r + h) owns row r of the tile and the columns
// [h·BK/2, (h+1)·BK/2), four at a time (vec4 reads of S, four-half writes) — and write P (or dS) back as f16 for
// the next product. 16-wide chunks above the causal diagonal
// are skipped in the products; lanes mask every element (causal and t < T), so skipped chunks are never read.
//   forward (two passes over the key blocks, no rescaling of O):
//     pass 1: each lane keeps a running (max, sum) over its columns; the two lanes of a row combine them into L
//     pass 2: P = exp(S·scale − L) (already normalised), O += P·V in subgroup-matrix accumulators
//   backward_query (one workgroup per query block, loops over key blocks; also writes D = rowsum(dO∘O)):
//     P = exp(S·scale − L), dS = P∘(dO·Vᵀ − D), dq = scale · Σ dS·K
//   backward_key (one workgroup per key block, loops over query blocks, reads the D written by backward_query):
//     Pᵀ = exp(K·Qᵀ·scale − L), dSᵀ = Pᵀ∘(V·dOᵀ − D), dv = Σ Pᵀ·dO, dk = scale · Σ dSᵀ·Q
//   or, where T is a multiple of 16 and the host gives a [B·H, T, T] f16 scratch dst (attention-f16.ts), three
//   passes in place of backward_query: dsum (D = rowsum(dO∘O), one thread per row), backward_key_ds (backward_key
//   that also writes its dSᵀ tiles to dst as f16) and backward_dq (one workgroup per query block, loops over key
//   blocks: dq = scale · Σ dS·K with dS read back from dst, no exps and no score products).
// The next streamed block is fetched from global memory into registers while the current one is multiplied.
// No atomics: every output element is written by exactly one lane, so results are deterministic.
// Workgroup memory is one f16 array H (row tiles, P/dS tiles) and one f32 array F (S/dP tiles, row statistics),
// laid out per pass below. Results leave through the subgroup's S tile (16×16 at a time), written by lanes as
// vec4s with bounds checks.
// PASS selects the workgroup-memory layout: 0 forward, 1 backward_query, 2 backward_key (and _ds), 3 backward_dq
// (and dsum); DK and BK are multiples of 16.
// This file is generated by kernels/gen/attention_f16.ts (edit that, then \`npm run gen:kernels\`), with the code per
// 16 channels written out for NC <= ${o.maxNC} (DK <= ${BLOCK * o.maxNC}); the const conditions drop the unused ones at compile time.
// defines: DK NSG BK PASS
enable f16;
enable subgroups;
enable subgroup_size_control;
enable chromium_experimental_subgroup_matrix;

struct Params { B: u32, H: u32, T: u32, sB: u32, sH: u32, sT: u32, scale: f32, pad: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> q: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> k: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> v: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> o: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read_write> lse: array<f32>;
@group(0) @binding(6) var<storage, read> dout: array<vec4<f32>>;
@group(0) @binding(7) var<storage, read_write> dsum: array<f32>;
@group(0) @binding(8) var<storage, read_write> dq: array<vec4<f32>>;
@group(0) @binding(9) var<storage, read_write> dk: array<vec4<f32>>;
@group(0) @binding(10) var<storage, read_write> dv: array<vec4<f32>>;
// dSᵀ of every (b, h) as f16, eight per vec4<u32>: element (key, query) at ((b·H + h)·T + key)·T + query.
@group(0) @binding(11) var<storage, read_write> dst: array<vec4<u32>>;

const WG: u32 = NSG * 32u;
const BQ: u32 = NSG * 16u;  // rows owned by a workgroup
const NC: u32 = DK / 16u;   // 16-wide channel chunks of a head vector
const NJ: u32 = BK / 16u;   // 16-wide chunks of a streamed block
const SH: u32 = DK + 8u;    // f16 row stride of the row tiles (16-byte multiple, staggers banks)
const SS: u32 = BK + 4u;    // f32 row stride of the S/dP tiles
const SP: u32 = BK + 8u;    // f16 row stride of the P/dS tiles
const SQ: u32 = BQ + 8u;    // f16 row stride of backward_dq's dSᵀ block (BK keys × BQ queries)
const NEG_BIG: f32 = -3.0e38;

// H: tile A (BQ rows: q | q | k | -), tile B (BQ rows: - | dO | v | -), tiles C, D (BK rows: k, v | k, v | q, dO |
// k, then BK rows of SQ: dSᵀ), then NSG 16×BK tiles of P and of dS.
const A_OFF: u32 = 0u;
const B_OFF: u32 = A_OFF + select(BQ * SH, 0u, PASS == 3u);
const C_OFF: u32 = B_OFF + select(0u, BQ * SH, PASS == 1u || PASS == 2u);
const D_OFF: u32 = C_OFF + BK * SH;
const G_OFF: u32 = D_OFF; // backward_dq's dSᵀ block
const P_OFF: u32 = D_OFF + select(BK * SH, BK * SQ, PASS == 3u);
const DS_OFF: u32 = P_OFF + select(0u, NSG * 16u * SP, PASS == 2u);
// (+ BK: a 16×16 block at column j of the last row tile spans offset + 16·stride if bounds are checked per whole
// stride, past the tile's end by up to BK − 16; the padding keeps such a check from clipping real data)
const H_LEN: u32 = DS_OFF + NSG * 16u * SP + BK;
// F: NSG 16×BK tiles of S, of dP (backward), then statistics: forward (max, sum) per lane; backward_query D per
// row; backward_key (L, D) per streamed query.
const S_OFF: u32 = 0u;
const DP_OFF: u32 = S_OFF + NSG * 16u * SS;
const X_OFF: u32 = DP_OFF + select(0u, NSG * 16u * SS, PASS != 0u);
const F_LEN: u32 = X_OFF + select(select(2u * BK, BQ, PASS == 1u), 2u * WG, PASS == 0u) + BK;

var<workgroup> H: array<f16, H_LEN>;
var<workgroup> F: array<f32, F_LEN>;

// ---- subgroup-matrix primitives (test/kernels/attention-f16.test.ts swaps this section for plain WGSL) ----
alias Left = subgroup_matrix_left<f16, 16, 16>;
alias Right = subgroup_matrix_right<f16, 16, 16>;
alias Acc = subgroup_matrix_result<f32, 16, 16>;
// 16×16 block of H at \`off\`, row r at off + r·stride.
@diagnostic(off, chromium.subgroup_matrix_uniformity)
fn load_left(off: u32, stride: u32) -> Left {
  return subgroupMatrixLoad<Left, row_major>(&H, off, stride);
}
@diagnostic(off, chromium.subgroup_matrix_uniformity)
fn load_right(off: u32, stride: u32) -> Right {
  return subgroupMatrixLoad<Right, row_major>(&H, off, stride);
}
// The transpose of the block at \`off\` as a left operand: element (m, kk) at off + kk·stride + m.
@diagnostic(off, chromium.subgroup_matrix_uniformity)
fn load_left_t(off: u32, stride: u32) -> Left {
  return subgroupMatrixLoad<Left, col_major>(&H, off, stride);
}
// The transpose of the block at \`off\`: element (kk, n) at off + n·stride + kk (a tile of rows used as Xᵀ).
@diagnostic(off, chromium.subgroup_matrix_uniformity)
fn load_right_t(off: u32, stride: u32) -> Right {
  return subgroupMatrixLoad<Right, col_major>(&H, off, stride);
}
@diagnostic(off, chromium.subgroup_matrix_uniformity)
fn store_acc(m: Acc, off: u32, stride: u32) {
  subgroupMatrixStore<row_major>(&F, off, m, stride);
}
// ---- end of subgroup-matrix primitives ----

// Four consecutive channels of q, k, v or dout (0..3) at vec4 index i.
fn fetch4(which: u32, i: u32) -> vec4<f32> {
  switch which {
    case 0u: { return q[i]; }
    case 1u: { return k[i]; }
    case 2u: { return v[i]; }
    default: { return dout[i]; }
  }
}

// Rows t0 .. t0+rows−1 of one head of tensor \`which\` into H at \`off\` as f16 (zeros past T), coalesced vec4 loads.
fn load_tile(which: u32, base: u32, t0: u32, rows: u32, off: u32, li: u32) {
  for (var it = li; it < rows * (DK / 4u); it += WG) {
    let r = it / (DK / 4u);
    let c = (it % (DK / 4u)) * 4u;
    let t = t0 + r;
    var x = vec4<f32>(0.0);
    if (t < p.T) { x = fetch4(which, (base + t * p.sT + c) / 4u); }
    let hx = vec4<f16>(x);
    let e = off + r * SH + c;
    H[e] = hx.x;
    H[e + 1u] = hx.y;
    H[e + 2u] = hx.z;
    H[e + 3u] = hx.w;
  }
}

// Streamed blocks are prefetched: the next block's rows are fetched into registers (NV vec4s per thread) while the
// current block is multiplied, and written to workgroup memory at the top of the next iteration.
const NV: u32 = (BK * DK / 4u + WG - 1u) / WG;
alias Rows = array<vec4<f32>, NV>;

fn fetch_rows(which: u32, base: u32, t0: u32, li: u32) -> Rows {
  var x: Rows;
  for (var v = 0u; v < NV; v++) {
    let it = li + v * WG;
    let t = t0 + it / (DK / 4u);
    x[v] = vec4<f32>(0.0);
    if (it < BK * (DK / 4u) && t < p.T) { x[v] = fetch4(which, (base + t * p.sT + (it % (DK / 4u)) * 4u) / 4u); }
  }
  return x;
}

fn put_rows(x: Rows, off: u32, li: u32) {
  for (var v = 0u; v < NV; v++) {
    let it = li + v * WG;
    if (it < BK * (DK / 4u)) {
      let hx = vec4<f16>(x[v]);
      let e = off + (it / (DK / 4u)) * SH + (it % (DK / 4u)) * 4u;
      H[e] = hx.x;
      H[e + 1u] = hx.y;
      H[e + 2u] = hx.z;
      H[e + 3u] = hx.w;
    }
  }
}

// backward_key's row statistics (L, D) of the streamed queries i0 .. i0+BK−1, prefetched with their rows (NX per
// thread), and put at F[X_OFF + e], F[X_OFF + BK + e].
const NX: u32 = (BK + WG - 1u) / WG;
alias Stats = array<vec2<f32>, NX>;

fn fetch_stats(rows: u32, i0: u32, li: u32) -> Stats {
  var x: Stats;
  for (var v = 0u; v < NX; v++) {
    let t = min(i0 + li + v * WG, p.T - 1u);
    x[v] = vec2<f32>(lse[rows + t], dsum[rows + t]);
  }
  return x;
}

fn put_stats(x: Stats, li: u32) {
  for (var v = 0u; v < NX; v++) {
    let e = li + v * WG;
    if (e < BK) {
      F[X_OFF + e] = x[v].x;
      F[X_OFF + BK + e] = x[v].y;
    }
  }
}

// X·Yᵀ for one subgroup: its 16 rows of X (H at xOff) times the BK rows of Y (H at yOff), transposed, into the
// 16×BK f32 tile at fOff; only 16-column chunks j in [jlo, jhi) are computed.
@diagnostic(off, chromium.subgroup_matrix_uniformity)
fn products(xOff: u32, yOff: u32, fOff: u32, jlo: u32, jhi: u32) {
  // subgroup-matrix variables are declared in uniform control flow; the rows of X are loaded once
  var acc: Acc;
${unroll(o, '  ', 'var x$n: Left;', false)}
${unroll(o, '  ', 'x$n = load_left(xOff + $ou, SH);', true)}
  for (var j = 0u; j < NJ; j++) {
    if (j >= jlo && j < jhi) {
      let y = yOff + j * 16u * SH;
      acc = Acc();
${unroll(o, '      ', 'acc = subgroupMatrixMultiplyAccumulate(x$n, load_right_t(y + $ou, SH), acc);', true)}
      store_acc(acc, fOff + j * 16u, SS);
    }
  }
}

// Number of 16-key chunks of the block at k0 that rows [r0, r0+16) can see (causal, keys < T).
fn visible_chunks(r0: u32, k0: u32) -> u32 {
  let end = min(r0 + 16u, p.T);
  if (end <= k0) { return 0u; }
  return min(NJ, (end - k0 + 15u) / 16u);
}

// F[e .. e+3] (e a multiple of 4: the elementwise phases' columns start at multiples of 4 in rows of SS = BK + 4).
fn f4(e: u32) -> vec4<f32> {
  return vec4<f32>(F[e], F[e + 1u], F[e + 2u], F[e + 3u]);
}
// x as four halves at H[e .. e+3].
fn put4(e: u32, x: vec4<f32>) {
  let h = vec4<f16>(x);
  H[e] = h.x;
  H[e + 1u] = h.y;
  H[e + 2u] = h.z;
  H[e + 3u] = h.w;
}
// Which of the keys t0 .. t0+3 query \`row\` sees (causal, and row < T).
fn seen4(t0: u32, row: u32) -> vec4<bool> {
  return (vec4<u32>(t0) + vec4<u32>(0u, 1u, 2u, 3u) <= vec4<u32>(row)) & vec4<bool>(row < p.T);
}

// Moves a result through the subgroup's S tile: afterwards F[S_OFF + s·16·SS ..] holds it for the lanes of s.
@diagnostic(off, chromium.subgroup_matrix_uniformity)
fn stage(m: Acc, sg: u32) {
  workgroupBarrier();
  store_acc(m, S_OFF + sg * 16u * SS, SS);
  workgroupBarrier();
}

// Item it (row it / 4, columns 4·(it % 4) ..) of the staged 16×16 result of tile s, as a vec4.
fn staged4(s: u32, it: u32) -> vec4<f32> {
  let e = S_OFF + s * 16u * SS + (it / 4u) * SS + (it % 4u) * 4u;
  return vec4<f32>(F[e], F[e + 1u], F[e + 2u], F[e + 3u]);
}

// Result m (columns 16c .. 16c+15 of rows t0 + 16·sg ..) of this workgroup, times mul, into o (rows < T).
@diagnostic(off, chromium.subgroup_matrix_uniformity)
fn emit_o(m: Acc, c: u32, sg: u32, li: u32, base: u32, t0: u32, mul: f32) {
  stage(m, sg);
  let s = li / 32u;
  for (var it = li % 32u; it < 64u; it += 32u) {
    let t = t0 + s * 16u + it / 4u;
    if (t < p.T) { o[(base + t * p.sT + c * 16u + (it % 4u) * 4u) / 4u] = staged4(s, it) * mul; }
  }
}

// Result m (columns 16c .. 16c+15 of rows t0 + 16·sg ..) of this workgroup, times mul, into dq (rows < T).
@diagnostic(off, chromium.subgroup_matrix_uniformity)
fn emit_dq(m: Acc, c: u32, sg: u32, li: u32, base: u32, t0: u32, mul: f32) {
  stage(m, sg);
  let s = li / 32u;
  for (var it = li % 32u; it < 64u; it += 32u) {
    let t = t0 + s * 16u + it / 4u;
    if (t < p.T) { dq[(base + t * p.sT + c * 16u + (it % 4u) * 4u) / 4u] = staged4(s, it) * mul; }
  }
}

// Result m (columns 16c .. 16c+15 of rows t0 + 16·sg ..) of this workgroup, times mul, into dk (rows < T).
@diagnostic(off, chromium.subgroup_matrix_uniformity)
fn emit_dk(m: Acc, c: u32, sg: u32, li: u32, base: u32, t0: u32, mul: f32) {
  stage(m, sg);
  let s = li / 32u;
  for (var it = li % 32u; it < 64u; it += 32u) {
    let t = t0 + s * 16u + it / 4u;
    if (t < p.T) { dk[(base + t * p.sT + c * 16u + (it % 4u) * 4u) / 4u] = staged4(s, it) * mul; }
  }
}

// Result m (columns 16c .. 16c+15 of rows t0 + 16·sg ..) of this workgroup, times mul, into dv (rows < T).
@diagnostic(off, chromium.subgroup_matrix_uniformity)
fn emit_dv(m: Acc, c: u32, sg: u32, li: u32, base: u32, t0: u32, mul: f32) {
  stage(m, sg);
  let s = li / 32u;
  for (var it = li % 32u; it < 64u; it += 32u) {
    let t = t0 + s * 16u + it / 4u;
    if (t < p.T) { dv[(base + t * p.sT + c * 16u + (it % 4u) * 4u) / 4u] = staged4(s, it) * mul; }
  }
}

@diagnostic(off, chromium.subgroup_matrix_uniformity)
fn forward(wg: vec3u, li: u32, sg: u32) {
  let h = wg.x;
  let b = wg.y;
  let q0 = (((p.T + BQ - 1u) / BQ) - 1u - wg.z) * BQ; // longest (last) query blocks first
  let base = b * p.sB + h * p.sH;
  // elementwise phases: thread li works on tile s, row r, columns ≡ hh (mod 2)
  let s = li / 32u;
  let lane = li % 32u;
  let r = lane >> 1u;
  let hh = lane & 1u;
  let row = q0 + s * 16u + r;
  let sTile = S_OFF + s * 16u * SS + r * SS;
  let pTile = P_OFF + s * 16u * SP + r * SP;
  // matrix phases: subgroup sg, rows [r0, r0+16)
  let r0 = q0 + sg * 16u;
  let qOff = A_OFF + sg * 16u * SH;
  let sOff = S_OFF + sg * 16u * SS;
  let kvEnd = min(p.T, q0 + BQ);

  load_tile(0u, base, q0, BQ, A_OFF, li);
  // pass 1: row statistics
  var m = NEG_BIG;
  var l = 0.0;
  var kr = fetch_rows(1u, base, 0u, li);
  for (var k0 = 0u; k0 < kvEnd; k0 += BK) {
    workgroupBarrier();
    put_rows(kr, C_OFF, li);
    workgroupBarrier();
    if (k0 + BK < kvEnd) { kr = fetch_rows(1u, base, k0 + BK, li); }
    products(qOff, C_OFF, sOff, 0u, visible_chunks(r0, k0));
    workgroupBarrier();
    var mb = m;
    for (var i = 0u; i < BK / 8u; i++) {
      let c = hh * (BK / 2u) + 4u * i;
      let sv = select(vec4<f32>(NEG_BIG), f4(sTile + c) * p.scale, seen4(k0 + c, row));
      mb = max(mb, max(max(sv.x, sv.y), max(sv.z, sv.w)));
    }
    var lb = l * exp(m - mb);
    for (var i = 0u; i < BK / 8u; i++) {
      let c = hh * (BK / 2u) + 4u * i;
      let e = select(vec4<f32>(0.0), exp(f4(sTile + c) * p.scale - mb), seen4(k0 + c, row));
      lb += (e.x + e.y) + (e.z + e.w);
    }
    m = mb;
    l = lb;
  }
  F[X_OFF + li] = m;
  F[X_OFF + WG + li] = l;
  workgroupBarrier();
  let m2 = F[X_OFF + (li ^ 1u)];
  let l2 = F[X_OFF + WG + (li ^ 1u)];
  let mx = max(m, m2);
  let L = mx + log(l * exp(m - mx) + l2 * exp(m2 - mx));
  if (hh == 0u && row < p.T) { lse[(b * p.H + h) * p.T + row] = L; }

  // pass 2: O = Σ P·V with P normalised
${unroll(o, '  ', 'var a$n: Acc;', false)}
  var lp: Left;
  kr = fetch_rows(1u, base, 0u, li);
  var vr = fetch_rows(2u, base, 0u, li);
  for (var k0 = 0u; k0 < kvEnd; k0 += BK) {
    workgroupBarrier();
    put_rows(kr, C_OFF, li);
    put_rows(vr, D_OFF, li);
    workgroupBarrier();
    if (k0 + BK < kvEnd) {
      kr = fetch_rows(1u, base, k0 + BK, li);
      vr = fetch_rows(2u, base, k0 + BK, li);
    }
    let nj = visible_chunks(r0, k0);
    products(qOff, C_OFF, sOff, 0u, nj);
    workgroupBarrier();
    for (var i = 0u; i < BK / 8u; i++) {
      let c = hh * (BK / 2u) + 4u * i;
      put4(pTile + c, select(vec4<f32>(0.0), exp(f4(sTile + c) * p.scale - L), seen4(k0 + c, row)));
    }
    workgroupBarrier();
    for (var j = 0u; j < nj; j++) {
      lp = load_left(P_OFF + sg * 16u * SP + j * 16u, SP);
      let y = D_OFF + j * 16u * SH;
${unroll(o, '      ', 'a$n = subgroupMatrixMultiplyAccumulate(lp, load_right(y + $ou, SH), a$n);', true)}
    }
  }
${unroll(o, '  ', 'emit_o(a$n, $nu, sg, li, base, q0, 1.0);', true)}
}

@diagnostic(off, chromium.subgroup_matrix_uniformity)
fn backward_query(wg: vec3u, li: u32, sg: u32) {
  let h = wg.x;
  let b = wg.y;
  let q0 = (((p.T + BQ - 1u) / BQ) - 1u - wg.z) * BQ;
  let base = b * p.sB + h * p.sH;
  let rows = (b * p.H + h) * p.T;
  let s = li / 32u;
  let lane = li % 32u;
  let r = lane >> 1u;
  let hh = lane & 1u;
  let row = q0 + s * 16u + r;
  let sTile = S_OFF + s * 16u * SS + r * SS;
  let dpTile = DP_OFF + s * 16u * SS + r * SS;
  let dsTile = P_OFF + s * 16u * SP + r * SP;
  let r0 = q0 + sg * 16u;
  let kvEnd = min(p.T, q0 + BQ);

  load_tile(0u, base, q0, BQ, A_OFF, li);
  load_tile(3u, base, q0, BQ, B_OFF, li);
  // D = rowsum(dO∘O) in f32 from the f32 tensors, one thread per row
  if (li < BQ) {
    let t = q0 + li;
    var d = 0.0;
    if (t < p.T) {
      let e = (base + t * p.sT) / 4u;
      for (var c = 0u; c < DK / 4u; c++) { d += dot(dout[e + c], o[e + c]); }
      dsum[rows + t] = d;
    }
    F[X_OFF + li] = d;
  }
  workgroupBarrier();
  let Lr = select(0.0, lse[rows + min(row, p.T - 1u)], row < p.T);
  let Dr = F[X_OFF + s * 16u + r];

${unroll(o, '  ', 'var a$n: Acc;', false)}
  var ls: Left;
  var kr = fetch_rows(1u, base, 0u, li);
  var vr = fetch_rows(2u, base, 0u, li);
  for (var k0 = 0u; k0 < kvEnd; k0 += BK) {
    workgroupBarrier();
    put_rows(kr, C_OFF, li);
    put_rows(vr, D_OFF, li);
    workgroupBarrier();
    if (k0 + BK < kvEnd) {
      kr = fetch_rows(1u, base, k0 + BK, li);
      vr = fetch_rows(2u, base, k0 + BK, li);
    }
    let nj = visible_chunks(r0, k0);
    products(A_OFF + sg * 16u * SH, C_OFF, S_OFF + sg * 16u * SS, 0u, nj);
    products(B_OFF + sg * 16u * SH, D_OFF, DP_OFF + sg * 16u * SS, 0u, nj);
    workgroupBarrier();
    for (var i = 0u; i < BK / 8u; i++) {
      let c = hh * (BK / 2u) + 4u * i;
      let ok = seen4(k0 + c, row);
      let pe = select(vec4<f32>(0.0), exp(f4(sTile + c) * p.scale - Lr), ok);
      put4(dsTile + c, select(vec4<f32>(0.0), pe * (f4(dpTile + c) - Dr), ok));
    }
    workgroupBarrier();
    for (var j = 0u; j < nj; j++) {
      ls = load_left(P_OFF + sg * 16u * SP + j * 16u, SP);
      let y = C_OFF + j * 16u * SH;
${unroll(o, '      ', 'a$n = subgroupMatrixMultiplyAccumulate(ls, load_right(y + $ou, SH), a$n);', true)}
    }
  }
${unroll(o, '  ', 'emit_dq(a$n, $nu, sg, li, base, q0, p.scale);', true)}
}

${backwardKey(o, false)}
${backwardKey(o, true)}
// ---- backward through dst (attention-f16.ts: T a multiple of 16, a [B·H, T, T] f16 scratch) ----
// dsum: D = rowsum(dO∘O) in f32 from the f32 tensors, one thread per row (the same sums as backward_query's).
fn dsum_rows(wg: vec3u, li: u32) {
  let t = wg.z * WG + li;
  if (t >= p.T) { return; }
  let e = (wg.y * p.sB + wg.x * p.sH + t * p.sT) / 4u;
  var d = 0.0;
  for (var c = 0u; c < DK / 4u; c++) { d += dot(dout[e + c], o[e + c]); }
  dsum[(wg.y * p.H + wg.x) * p.T + t] = d;
}

// Two halves of H as one u32 (the bits as they are).
fn pack_h(e: u32) -> u32 {
  return bitcast<u32>(vec2<f16>(H[e], H[e + 1u]));
}

// backward_key_ds: the 16×BK tile of dSᵀ at H[tile ..] (rows: keys key0 .., columns: queries i0 ..) into dst,
// eight halves per lane store.
fn write_ds(rows: u32, key0: u32, i0: u32, tile: u32, lane: u32) {
  for (var it = lane; it < 2u * BK; it += 32u) {
    let rr = it / (BK / 8u);
    let c = (it % (BK / 8u)) * 8u;
    let e = tile + rr * SP + c;
    if (key0 + rr < p.T && i0 + c < p.T) {
      dst[((rows + key0 + rr) * p.T + i0 + c) / 8u] = vec4<u32>(pack_h(e), pack_h(e + 2u), pack_h(e + 4u), pack_h(e + 6u));
    }
  }
}

// backward_dq's streamed dSᵀ block (keys k0 .. k0+BK−1, queries q0 .. q0+BQ−1), prefetched like the rows: NG
// vec4s (eight halves each) per thread, zeros past T.
const NG: u32 = (BK * BQ / 8u + WG - 1u) / WG;
alias DsRows = array<vec4<u32>, NG>;

fn fetch_ds(rows: u32, k0: u32, q0: u32, li: u32) -> DsRows {
  var x: DsRows;
  for (var v = 0u; v < NG; v++) {
    let it = li + v * WG;
    let r = it / (BQ / 8u);
    let c = (it % (BQ / 8u)) * 8u;
    x[v] = vec4<u32>(0u);
    if (it < BK * (BQ / 8u) && k0 + r < p.T && q0 + c < p.T) { x[v] = dst[((rows + k0 + r) * p.T + q0 + c) / 8u]; }
  }
  return x;
}

fn put_ds(x: DsRows, li: u32) {
  for (var v = 0u; v < NG; v++) {
    let it = li + v * WG;
    if (it < BK * (BQ / 8u)) {
      let e = G_OFF + (it / (BQ / 8u)) * SQ + (it % (BQ / 8u)) * 8u;
      let h0 = bitcast<vec2<f16>>(x[v].x);
      let h1 = bitcast<vec2<f16>>(x[v].y);
      let h2 = bitcast<vec2<f16>>(x[v].z);
      let h3 = bitcast<vec2<f16>>(x[v].w);
      H[e] = h0.x;
      H[e + 1u] = h0.y;
      H[e + 2u] = h1.x;
      H[e + 3u] = h1.y;
      H[e + 4u] = h2.x;
      H[e + 5u] = h2.y;
      H[e + 6u] = h3.x;
      H[e + 7u] = h3.y;
    }
  }
}

// dq = scale · Σ dS·K for one query block, dS read back from dst (written by backward_key_ds just before).
@diagnostic(off, chromium.subgroup_matrix_uniformity)
fn backward_dq(wg: vec3u, li: u32, sg: u32) {
  let h = wg.x;
  let b = wg.y;
  let q0 = (((p.T + BQ - 1u) / BQ) - 1u - wg.z) * BQ; // longest (last) query blocks first
  let base = b * p.sB + h * p.sH;
  let rows = (b * p.H + h) * p.T;
  let r0 = q0 + sg * 16u;
  let kvEnd = min(p.T, q0 + BQ);
${unroll(o, '  ', 'var a$n: Acc;', false)}
  var lg: Left;
  var kr = fetch_rows(1u, base, 0u, li);
  var gr = fetch_ds(rows, 0u, q0, li);
  for (var k0 = 0u; k0 < kvEnd; k0 += BK) {
    workgroupBarrier();
    put_rows(kr, C_OFF, li);
    put_ds(gr, li);
    workgroupBarrier();
    if (k0 + BK < kvEnd) {
      kr = fetch_rows(1u, base, k0 + BK, li);
      gr = fetch_ds(rows, k0 + BK, q0, li);
    }
    let nj = visible_chunks(r0, k0);
    for (var j = 0u; j < nj; j++) {
      // dS rows r0 .. (queries) × keys k0 + 16j ..: the transpose of dSᵀ's block
      lg = load_left_t(G_OFF + j * 16u * SQ + sg * 16u, SQ);
      let y = C_OFF + j * 16u * SH;
${unroll(o, '      ', 'a$n = subgroupMatrixMultiplyAccumulate(lg, load_right(y + $ou, SH), a$n);', true)}
    }
  }
${unroll(o, '  ', 'emit_dq(a$n, $nu, sg, li, base, q0, p.scale);', true)}
}
// Grid: (H, B, blocks of BQ rows). subgroup_id drives the matrix phases; the elementwise phases use li / 32.
@compute @workgroup_size(WG) @subgroup_size(32) @diagnostic(off, chromium.subgroup_matrix_uniformity)
fn attention_forward(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) li: u32, @builtin(subgroup_id) sg: u32) {
  forward(wg, li, sg);
}

@compute @workgroup_size(WG) @subgroup_size(32) @diagnostic(off, chromium.subgroup_matrix_uniformity)
fn attention_backward_query(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) li: u32, @builtin(subgroup_id) sg: u32) {
  backward_query(wg, li, sg);
}

@compute @workgroup_size(WG) @subgroup_size(32) @diagnostic(off, chromium.subgroup_matrix_uniformity)
fn attention_backward_key(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) li: u32, @builtin(subgroup_id) sg: u32) {
  backward_key(wg, li, sg);
}

@compute @workgroup_size(WG) @subgroup_size(32) @diagnostic(off, chromium.subgroup_matrix_uniformity)
fn attention_backward_key_ds(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) li: u32, @builtin(subgroup_id) sg: u32) {
  backward_key_ds(wg, li, sg);
}

@compute @workgroup_size(WG) @subgroup_size(32) @diagnostic(off, chromium.subgroup_matrix_uniformity)
fn attention_backward_dq(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) li: u32, @builtin(subgroup_id) sg: u32) {
  backward_dq(wg, li, sg);
}

// Grid: (H, B, blocks of WG rows).
@compute @workgroup_size(WG)
fn attention_dsum(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) li: u32) {
  dsum_rows(wg, li);
}
`;
}
