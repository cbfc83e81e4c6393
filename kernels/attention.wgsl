// causal multi-head attention: out = softmax(q·kᵀ·scale + causal mask)·v, scale = 1/sqrt(dk).
// Flash-style: the T×T scores are never stored. The forward keeps per query row the log-sum-exp L; the
// backward recomputes P = exp(q·kᵀ·scale − L) tile by tile.
//   backward_prepare: Dᵢ = Σ_c dOᵢ·Oᵢ
//   backward_query:   dqᵢ = scale · Σ_{j≤i} Pᵢⱼ(dOᵢ·vⱼ − Dᵢ) kⱼ                      (one thread per query)
//   backward_key:     dvⱼ = Σ_{i≥j} Pᵢⱼ dOᵢ;  dkⱼ = scale · Σ_{i≥j} Pᵢⱼ(dOᵢ·vⱼ − Dᵢ) qᵢ (one thread per key)
// No atomics: every output element is written by exactly one thread, so results are deterministic.
// Element (b, h, t, c) lives at b·sB + h·sH + t·sT + c for q, k, v, out and their gradients.
// Head vectors are held as vec4 (the head dim padded with zeros to a multiple of 4) in registers and in the
// workgroup tiles, so the inner products run four lanes of work per instruction.
// BQ rows (queries or keys) per workgroup, one per thread; BK rows per workgroup-memory tile.
// defines: DK BK BQ

struct Params { B: u32, H: u32, T: u32, sB: u32, sH: u32, sT: u32, scale: f32, pad: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> k: array<f32>;
@group(0) @binding(3) var<storage, read> v: array<f32>;
@group(0) @binding(4) var<storage, read_write> o: array<f32>;
@group(0) @binding(5) var<storage, read_write> lse: array<f32>;
@group(0) @binding(6) var<storage, read> dout: array<f32>;
@group(0) @binding(7) var<storage, read_write> dsum: array<f32>;
@group(0) @binding(8) var<storage, read_write> dq: array<f32>;
@group(0) @binding(9) var<storage, read_write> dk: array<f32>;
@group(0) @binding(10) var<storage, read_write> dv: array<f32>;

const DKV: u32 = (DK + 3u) / 4u; // vec4s per head vector
const NEG_BIG: f32 = -3.0e38;

var<workgroup> tile_a: array<vec4<f32>, BK * DKV>;
var<workgroup> tile_b: array<vec4<f32>, BK * DKV>;
var<workgroup> tile_l: array<f32, BK>;
var<workgroup> tile_d: array<f32, BK>;

// Number of keys of the tile starting at j0 that query t may see (causal), 0 if none.
fn visible(t: u32, j0: u32) -> u32 {
  if (t < j0) { return 0u; }
  return min(BK, t - j0 + 1u);
}

// Four channels c0..c0+3 of a head vector at element offset `row` (zero past DK).
fn load4_q(row: u32, c0: u32) -> vec4<f32> {
  var r = vec4<f32>(0.0);
  for (var i = 0u; i < 4u; i++) { if (c0 + i < DK) { r[i] = q[row + c0 + i]; } }
  return r;
}
fn load4_k(row: u32, c0: u32) -> vec4<f32> {
  var r = vec4<f32>(0.0);
  for (var i = 0u; i < 4u; i++) { if (c0 + i < DK) { r[i] = k[row + c0 + i]; } }
  return r;
}
fn load4_v(row: u32, c0: u32) -> vec4<f32> {
  var r = vec4<f32>(0.0);
  for (var i = 0u; i < 4u; i++) { if (c0 + i < DK) { r[i] = v[row + c0 + i]; } }
  return r;
}
fn load4_do(row: u32, c0: u32) -> vec4<f32> {
  var r = vec4<f32>(0.0);
  for (var i = 0u; i < 4u; i++) { if (c0 + i < DK) { r[i] = dout[row + c0 + i]; } }
  return r;
}

// Loads rows j0..j0+BK−1 of (k, v) into the tiles (zeros past T).
fn load_kv_tile(base: u32, j0: u32, lid: u32) {
  for (var e = lid; e < BK * DKV; e += BQ) {
    let j = j0 + e / DKV;
    let c0 = (e % DKV) * 4u;
    if (j < p.T) {
      tile_a[e] = load4_k(base + j * p.sT, c0);
      tile_b[e] = load4_v(base + j * p.sT, c0);
    } else {
      tile_a[e] = vec4<f32>(0.0);
      tile_b[e] = vec4<f32>(0.0);
    }
  }
}

@compute @workgroup_size(BQ)
fn attention_forward(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let h = wg.y;
  let b = wg.z;
  let t = wg.x * BQ + lid;
  let valid = t < p.T;
  let tt = min(t, p.T - 1u);
  let base = b * p.sB + h * p.sH;
  var qr: array<vec4<f32>, DKV>;
  var acc: array<vec4<f32>, DKV>;
  for (var c = 0u; c < DKV; c++) {
    acc[c] = vec4<f32>(0.0);
    qr[c] = load4_q(base + tt * p.sT, c * 4u) * p.scale;
  }
  var m = NEG_BIG;
  var l = 0.0;
  let kv_end = min(p.T, (wg.x + 1u) * BQ);
  for (var j0 = 0u; j0 < kv_end; j0 += BK) {
    load_kv_tile(base, j0, lid);
    workgroupBarrier();
    if (valid) {
      let n = visible(t, j0);
      var s: array<f32, BK>;
      var mt = m;
      for (var jj = 0u; jj < n; jj++) {
        var d = 0.0;
        for (var c = 0u; c < DKV; c++) { d += dot(qr[c], tile_a[jj * DKV + c]); }
        s[jj] = d;
        mt = max(mt, d);
      }
      if (n > 0u) {
        let corr = exp(m - mt);
        l = l * corr;
        for (var c = 0u; c < DKV; c++) { acc[c] = acc[c] * corr; }
        for (var jj = 0u; jj < n; jj++) {
          let pe = exp(s[jj] - mt);
          l += pe;
          for (var c = 0u; c < DKV; c++) { acc[c] = fma(vec4<f32>(pe), tile_b[jj * DKV + c], acc[c]); }
        }
        m = mt;
      }
    }
    workgroupBarrier();
  }
  if (valid) {
    let inv = 1.0 / l;
    let row = base + t * p.sT;
    for (var c = 0u; c < DK; c++) { o[row + c] = acc[c / 4u][c % 4u] * inv; }
    lse[(b * p.H + h) * p.T + t] = m + log(l);
  }
}

@compute @workgroup_size(BQ)
fn attention_backward_prepare(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let h = wg.y;
  let b = wg.z;
  let t = wg.x * BQ + lid;
  if (t >= p.T) { return; }
  let off = b * p.sB + h * p.sH + t * p.sT;
  var d = 0.0;
  for (var c = 0u; c < DK; c++) { d = fma(dout[off + c], o[off + c], d); }
  dsum[(b * p.H + h) * p.T + t] = d;
}

@compute @workgroup_size(BQ)
fn attention_backward_query(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let h = wg.y;
  let b = wg.z;
  let t = wg.x * BQ + lid;
  let valid = t < p.T;
  let tt = min(t, p.T - 1u);
  let base = b * p.sB + h * p.sH;
  var qr: array<vec4<f32>, DKV>;
  var dor: array<vec4<f32>, DKV>;
  var acc: array<vec4<f32>, DKV>;
  for (var c = 0u; c < DKV; c++) {
    qr[c] = load4_q(base + tt * p.sT, c * 4u) * p.scale;
    dor[c] = load4_do(base + tt * p.sT, c * 4u);
    acc[c] = vec4<f32>(0.0);
  }
  let row = (b * p.H + h) * p.T + tt;
  let li = lse[row];
  let di = dsum[row];
  let kv_end = min(p.T, (wg.x + 1u) * BQ);
  for (var j0 = 0u; j0 < kv_end; j0 += BK) {
    load_kv_tile(base, j0, lid);
    workgroupBarrier();
    if (valid) {
      let n = visible(t, j0);
      for (var jj = 0u; jj < n; jj++) {
        var s = 0.0;
        var dp = 0.0;
        for (var c = 0u; c < DKV; c++) {
          s += dot(qr[c], tile_a[jj * DKV + c]);
          dp += dot(dor[c], tile_b[jj * DKV + c]);
        }
        let ds = exp(s - li) * (dp - di);
        for (var c = 0u; c < DKV; c++) { acc[c] = fma(vec4<f32>(ds), tile_a[jj * DKV + c], acc[c]); }
      }
    }
    workgroupBarrier();
  }
  if (valid) {
    let out_row = base + t * p.sT;
    for (var c = 0u; c < DK; c++) { dq[out_row + c] = acc[c / 4u][c % 4u] * p.scale; }
  }
}

@compute @workgroup_size(BQ)
fn attention_backward_key(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let h = wg.y;
  let b = wg.z;
  let j = wg.x * BQ + lid;
  let valid = j < p.T;
  let jj = min(j, p.T - 1u);
  let base = b * p.sB + h * p.sH;
  var kr: array<vec4<f32>, DKV>;
  var vr: array<vec4<f32>, DKV>;
  var dka: array<vec4<f32>, DKV>;
  var dva: array<vec4<f32>, DKV>;
  for (var c = 0u; c < DKV; c++) {
    kr[c] = load4_k(base + jj * p.sT, c * 4u) * p.scale;
    vr[c] = load4_v(base + jj * p.sT, c * 4u);
    dka[c] = vec4<f32>(0.0);
    dva[c] = vec4<f32>(0.0);
  }
  let rows = (b * p.H + h) * p.T;
  for (var i0 = wg.x * BQ; i0 < p.T; i0 += BK) {
    for (var e = lid; e < BK * DKV; e += BQ) {
      let i = i0 + e / DKV;
      let c0 = (e % DKV) * 4u;
      if (i < p.T) {
        tile_a[e] = load4_q(base + i * p.sT, c0);
        tile_b[e] = load4_do(base + i * p.sT, c0);
      } else {
        tile_a[e] = vec4<f32>(0.0);
        tile_b[e] = vec4<f32>(0.0);
      }
    }
    for (var e = lid; e < BK; e += BQ) {
      let i = min(i0 + e, p.T - 1u);
      tile_l[e] = lse[rows + i];
      tile_d[e] = dsum[rows + i];
    }
    workgroupBarrier();
    if (valid) {
      let n = min(BK, p.T - i0);
      // queries before j do not see key j
      let first = select(0u, j - i0, j > i0);
      for (var ii = first; ii < n; ii++) {
        var s = 0.0;
        var dp = 0.0;
        for (var c = 0u; c < DKV; c++) {
          s += dot(kr[c], tile_a[ii * DKV + c]);
          dp += dot(vr[c], tile_b[ii * DKV + c]);
        }
        let pr = exp(s - tile_l[ii]);
        let ds = pr * (dp - tile_d[ii]);
        for (var c = 0u; c < DKV; c++) {
          dva[c] = fma(vec4<f32>(pr), tile_b[ii * DKV + c], dva[c]);
          dka[c] = fma(vec4<f32>(ds), tile_a[ii * DKV + c], dka[c]);
        }
      }
    }
    workgroupBarrier();
  }
  if (valid) {
    let out_row = base + j * p.sT;
    for (var c = 0u; c < DK; c++) {
      dk[out_row + c] = dka[c / 4u][c % 4u] * p.scale;
      dv[out_row + c] = dva[c / 4u][c % 4u];
    }
  }
}
