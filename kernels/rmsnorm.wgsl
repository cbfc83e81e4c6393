// rmsnorm: y = x / sqrt(mean(x²) + eps) · w over the last dimension (rows of length D).
// forward:          one workgroup per row; also stores r = 1/sqrt(mean(x²)+eps) per row for the backward.
// backward_input:   g = dy·w;  dx = r·g − x·r³·mean(g·x)   (accumulate=1 adds dx onto what is there: residuals)
// backward_weight:  dw[c] = Σ_rows dy·x·r in two deterministic stages (accumulate=1 adds onto dw).
// forward_half (mixed precision): the forward writing y only as the f16 operand of the GEMMs that read it (packed
// two per u32, the same values and rounding as rmsnorm_forward followed by cast.wgsl; D must be even).
// backward_input_half: backward_input that also writes the f16 copy of the dx it leaves (after accumulate) into
// y16, as cast.wgsl would (the residual stream's gradient is the next GEMMs' operand; D must be even).
// The *4 entry points of forward, forward_half, backward_input and backward_input_half do the same four values at
// a time (vec4 loads and stores) where D is a multiple of 4 and every tensor starts 16-byte aligned (the host picks
// them; issue 16). The per-value expressions are the same; the row sums add their terms in another order, so
// results may differ from the one-at-a-time entries in the last bits (and the f16 ones still equal their f32
// twin followed by cast.wgsl, bit for bit).

struct Params { rows: u32, D: u32, eps: f32, accumulate: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
@group(0) @binding(4) var<storage, read_write> r: array<f32>;
@group(0) @binding(5) var<storage, read> dy: array<f32>;
@group(0) @binding(6) var<storage, read> rr: array<f32>;
@group(0) @binding(7) var<storage, read_write> dx: array<f32>;
@group(0) @binding(8) var<storage, read_write> dw: array<f32>;
@group(0) @binding(9) var<storage, read_write> partial: array<f32>;
@group(0) @binding(10) var<storage, read_write> y16: array<u32>;

const WG: u32 = 64u;
// include: workgroup_reduce
// include: f16_pack

fn row_of(wg: vec3u, nwg: vec3u) -> u32 { return wg.y * nwg.x + wg.x; }


@compute @workgroup_size(WG)
fn rmsnorm_forward(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let row = row_of(wg, nwg);
  if (row >= p.rows) { return; }
  let base = row * p.D;
  var ss = 0.0;
  for (var c = lid; c < p.D; c += WG) { let v = x[base + c]; ss = fma(v, v, ss); }
  let total = reduce_sum(lid, ss);
  let inv = inverseSqrt(total / f32(p.D) + p.eps);
  for (var c = lid; c < p.D; c += WG) { y[base + c] = x[base + c] * inv * w[c]; }
  if (lid == 0u) { r[row] = inv; }
}

@compute @workgroup_size(WG)
fn rmsnorm_forward_half(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let row = row_of(wg, nwg);
  if (row >= p.rows) { return; }
  let base = row * p.D;
  var ss = 0.0;
  for (var c = lid; c < p.D; c += WG) { let v = x[base + c]; ss = fma(v, v, ss); }
  let total = reduce_sum(lid, ss);
  let inv = inverseSqrt(total / f32(p.D) + p.eps);
  for (var t = lid; t < p.D / 2u; t += WG) {
    let c = 2u * t;
    y16[base / 2u + t] = pack_half2(vec2<f32>(x[base + c] * inv * w[c], x[base + c + 1u] * inv * w[c + 1u]));
  }
  if (lid == 0u) { r[row] = inv; }
}

@compute @workgroup_size(WG)
fn rmsnorm_backward_input(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let row = row_of(wg, nwg);
  if (row >= p.rows) { return; }
  let base = row * p.D;
  var s = 0.0;
  for (var c = lid; c < p.D; c += WG) { s = fma(dy[base + c] * w[c], x[base + c], s); }
  let total = reduce_sum(lid, s);
  let inv = rr[row];
  let k = inv * inv * inv * total / f32(p.D);
  for (var c = lid; c < p.D; c += WG) {
    let v = inv * dy[base + c] * w[c] - x[base + c] * k;
    if (p.accumulate != 0u) { dx[base + c] = dx[base + c] + v; } else { dx[base + c] = v; }
  }
}

@compute @workgroup_size(WG)
fn rmsnorm_backward_input_half(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let row = row_of(wg, nwg);
  if (row >= p.rows) { return; }
  let base = row * p.D;
  var s = 0.0;
  for (var c = lid; c < p.D; c += WG) { s = fma(dy[base + c] * w[c], x[base + c], s); }
  let total = reduce_sum(lid, s);
  let inv = rr[row];
  let k = inv * inv * inv * total / f32(p.D);
  for (var t = lid; t < p.D / 2u; t += WG) {
    let c = 2u * t;
    var v0 = inv * dy[base + c] * w[c] - x[base + c] * k;
    var v1 = inv * dy[base + c + 1u] * w[c + 1u] - x[base + c + 1u] * k;
    if (p.accumulate != 0u) { v0 = dx[base + c] + v0; v1 = dx[base + c + 1u] + v1; }
    dx[base + c] = v0;
    dx[base + c + 1u] = v1;
    y16[base / 2u + t] = pack_half2(vec2<f32>(v0, v1));
  }
}

// The gain's gradient is a column sum over all rows: first partial sums over chunks of ROWS_PER_CHUNK rows
// (grid: column blocks × row chunks), then one thread per column adds the chunks in order.
const ROWS_PER_CHUNK: u32 = 128u;

@compute @workgroup_size(WG)
fn rmsnorm_backward_weight_partial(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let c = wg.x * WG + lid;
  if (c >= p.D) { return; }
  let r0 = wg.y * ROWS_PER_CHUNK;
  let r1 = min(p.rows, r0 + ROWS_PER_CHUNK);
  var s = 0.0;
  for (var row = r0; row < r1; row++) {
    let i = row * p.D + c;
    s = fma(dy[i] * x[i], rr[row], s);
  }
  partial[wg.y * p.D + c] = s;
}

@compute @workgroup_size(WG)
fn rmsnorm_backward_weight_reduce(@builtin(global_invocation_id) gid: vec3u) {
  let c = gid.x;
  if (c >= p.D) { return; }
  let chunks = (p.rows + ROWS_PER_CHUNK - 1u) / ROWS_PER_CHUNK;
  var s = 0.0;
  for (var k = 0u; k < chunks; k++) { s += partial[k * p.D + c]; }
  if (p.accumulate != 0u) { dw[c] = dw[c] + s; } else { dw[c] = s; }
}

@group(0) @binding(11) var<storage, read> x4: array<vec4<f32>>;
@group(0) @binding(12) var<storage, read> w4: array<vec4<f32>>;
@group(0) @binding(13) var<storage, read_write> y4: array<vec4<f32>>;
@group(0) @binding(14) var<storage, read> dy4: array<vec4<f32>>;
@group(0) @binding(15) var<storage, read_write> dx4: array<vec4<f32>>;
@group(0) @binding(16) var<storage, read_write> y16x2: array<vec2<u32>>;

fn hsum(v: vec4<f32>) -> f32 { return (v.x + v.y) + (v.z + v.w); }

// 1/rms of a row, four values at a time (every lane gets it).
fn inv_rms4(base: u32, lid: u32) -> f32 {
  var ss = vec4<f32>(0.0);
  for (var c = lid; c < p.D / 4u; c += WG) { let v = x4[base + c]; ss = fma(v, v, ss); }
  return inverseSqrt(reduce_sum(lid, hsum(ss)) / f32(p.D) + p.eps);
}

@compute @workgroup_size(WG)
fn rmsnorm_forward4(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let row = row_of(wg, nwg);
  if (row >= p.rows) { return; }
  let base = row * (p.D / 4u);
  let inv = inv_rms4(base, lid);
  for (var c = lid; c < p.D / 4u; c += WG) { y4[base + c] = x4[base + c] * inv * w4[c]; }
  if (lid == 0u) { r[row] = inv; }
}

@compute @workgroup_size(WG)
fn rmsnorm_forward_half4(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let row = row_of(wg, nwg);
  if (row >= p.rows) { return; }
  let base = row * (p.D / 4u);
  let inv = inv_rms4(base, lid);
  for (var c = lid; c < p.D / 4u; c += WG) {
    let v = x4[base + c] * inv * w4[c];
    y16x2[base + c] = vec2<u32>(pack_half2(v.xy), pack_half2(v.zw));
  }
  if (lid == 0u) { r[row] = inv; }
}

// k = r³·mean(g·x) of a row (every lane gets it), four values at a time.
fn backward_k4(row: u32, base: u32, lid: u32) -> f32 {
  var s = vec4<f32>(0.0);
  for (var c = lid; c < p.D / 4u; c += WG) { s = fma(dy4[base + c] * w4[c], x4[base + c], s); }
  let total = reduce_sum(lid, hsum(s));
  let inv = rr[row];
  return inv * inv * inv * total / f32(p.D);
}

// dx at vec4 c of a row (added onto what is there with accumulate), stored; returned for the f16 copy.
fn store_dx4(base: u32, c: u32, inv: f32, k: f32) -> vec4<f32> {
  var v = inv * dy4[base + c] * w4[c] - x4[base + c] * k;
  if (p.accumulate != 0u) { v = dx4[base + c] + v; }
  dx4[base + c] = v;
  return v;
}

@compute @workgroup_size(WG)
fn rmsnorm_backward_input4(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let row = row_of(wg, nwg);
  if (row >= p.rows) { return; }
  let base = row * (p.D / 4u);
  let k = backward_k4(row, base, lid);
  let inv = rr[row];
  for (var c = lid; c < p.D / 4u; c += WG) { store_dx4(base, c, inv, k); }
}

@compute @workgroup_size(WG)
fn rmsnorm_backward_input_half4(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let row = row_of(wg, nwg);
  if (row >= p.rows) { return; }
  let base = row * (p.D / 4u);
  let k = backward_k4(row, base, lid);
  let inv = rr[row];
  for (var c = lid; c < p.D / 4u; c += WG) {
    let v = store_dx4(base, c, inv, k);
    y16x2[base + c] = vec2<u32>(pack_half2(v.xy), pack_half2(v.zw));
  }
}
