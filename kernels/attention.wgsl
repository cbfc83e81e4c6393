// causal multi-head attention: out = softmax(q·kᵀ·scale + causal mask)·v, scale = 1/sqrt(dk).
// Flash-style: the T×T scores are never stored. The forward keeps per query row the log-sum-exp L; the
// backward recomputes P = exp(q·kᵀ·scale − L) tile by tile.
//   backward_prepare: Dᵢ = Σ_c dOᵢ·Oᵢ
//   backward_query:   dqᵢ = scale · Σ_{j≤i} Pᵢⱼ(dOᵢ·vⱼ − Dᵢ) kⱼ                      (one thread per query)
//   backward_key:     dvⱼ = Σ_{i≥j} Pᵢⱼ dOᵢ;  dkⱼ = scale · Σ_{i≥j} Pᵢⱼ(dOᵢ·vⱼ − Dᵢ) qᵢ (one thread per key)
// No atomics: every output element is written by exactly one thread, so results are deterministic.
// Element (b, h, t, c) lives at b·sB + h·sH + t·sT + c for q, k, v, out and their gradients.
// defines: DK BK

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

const BQ: u32 = 64u; // rows (queries or keys) per workgroup, one per thread
const NEG_BIG: f32 = -3.0e38;

var<workgroup> tile_a: array<f32, BK * DK>;
var<workgroup> tile_b: array<f32, BK * DK>;
var<workgroup> tile_l: array<f32, BK>;
var<workgroup> tile_d: array<f32, BK>;

// Number of keys of the tile starting at j0 that query t may see (causal), 0 if none.
fn visible(t: u32, j0: u32) -> u32 {
  if (t < j0) { return 0u; }
  return min(BK, t - j0 + 1u);
}

@compute @workgroup_size(BQ)
fn attention_forward(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let h = wg.y;
  let b = wg.z;
  let t = wg.x * BQ + lid;
  let valid = t < p.T;
  let base = b * p.sB + h * p.sH;
  var qr: array<f32, DK>;
  var acc: array<f32, DK>;
  for (var c = 0u; c < DK; c++) {
    acc[c] = 0.0;
    qr[c] = select(0.0, q[base + min(t, p.T - 1u) * p.sT + c] * p.scale, valid);
  }
  var m = NEG_BIG;
  var l = 0.0;
  let kv_end = min(p.T, (wg.x + 1u) * BQ);
  for (var j0 = 0u; j0 < kv_end; j0 += BK) {
    for (var e = lid; e < BK * DK; e += BQ) {
      let j = j0 + e / DK;
      let c = e % DK;
      let inb = j < p.T;
      let src = base + min(j, p.T - 1u) * p.sT + c;
      tile_a[e] = select(0.0, k[src], inb);
      tile_b[e] = select(0.0, v[src], inb);
    }
    workgroupBarrier();
    if (valid) {
      let n = visible(t, j0);
      var s: array<f32, BK>;
      var mt = m;
      for (var jj = 0u; jj < n; jj++) {
        var d = 0.0;
        for (var c = 0u; c < DK; c++) { d = fma(qr[c], tile_a[jj * DK + c], d); }
        s[jj] = d;
        mt = max(mt, d);
      }
      if (n > 0u) {
        let corr = exp(m - mt);
        l = l * corr;
        for (var c = 0u; c < DK; c++) { acc[c] = acc[c] * corr; }
        for (var jj = 0u; jj < n; jj++) {
          let pe = exp(s[jj] - mt);
          l += pe;
          for (var c = 0u; c < DK; c++) { acc[c] = fma(pe, tile_b[jj * DK + c], acc[c]); }
        }
        m = mt;
      }
    }
    workgroupBarrier();
  }
  if (valid) {
    let inv = 1.0 / l;
    for (var c = 0u; c < DK; c++) { o[base + t * p.sT + c] = acc[c] * inv; }
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
  var qr: array<f32, DK>;
  var dor: array<f32, DK>;
  var acc: array<f32, DK>;
  for (var c = 0u; c < DK; c++) {
    qr[c] = q[base + tt * p.sT + c] * p.scale;
    dor[c] = dout[base + tt * p.sT + c];
    acc[c] = 0.0;
  }
  let row = (b * p.H + h) * p.T + tt;
  let li = lse[row];
  let di = dsum[row];
  let kv_end = min(p.T, (wg.x + 1u) * BQ);
  for (var j0 = 0u; j0 < kv_end; j0 += BK) {
    for (var e = lid; e < BK * DK; e += BQ) {
      let j = j0 + e / DK;
      let c = e % DK;
      let inb = j < p.T;
      let src = base + min(j, p.T - 1u) * p.sT + c;
      tile_a[e] = select(0.0, k[src], inb);
      tile_b[e] = select(0.0, v[src], inb);
    }
    workgroupBarrier();
    if (valid) {
      let n = visible(t, j0);
      for (var jj = 0u; jj < n; jj++) {
        var s = 0.0;
        var dp = 0.0;
        for (var c = 0u; c < DK; c++) {
          s = fma(qr[c], tile_a[jj * DK + c], s);
          dp = fma(dor[c], tile_b[jj * DK + c], dp);
        }
        let ds = exp(s - li) * (dp - di);
        for (var c = 0u; c < DK; c++) { acc[c] = fma(ds, tile_a[jj * DK + c], acc[c]); }
      }
    }
    workgroupBarrier();
  }
  if (valid) {
    for (var c = 0u; c < DK; c++) { dq[base + t * p.sT + c] = acc[c] * p.scale; }
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
  var kr: array<f32, DK>;
  var vr: array<f32, DK>;
  var dka: array<f32, DK>;
  var dva: array<f32, DK>;
  for (var c = 0u; c < DK; c++) {
    kr[c] = k[base + jj * p.sT + c] * p.scale;
    vr[c] = v[base + jj * p.sT + c];
    dka[c] = 0.0;
    dva[c] = 0.0;
  }
  let rows = (b * p.H + h) * p.T;
  for (var i0 = wg.x * BQ; i0 < p.T; i0 += BK) {
    for (var e = lid; e < BK * DK; e += BQ) {
      let i = i0 + e / DK;
      let c = e % DK;
      let inb = i < p.T;
      let src = base + min(i, p.T - 1u) * p.sT + c;
      tile_a[e] = select(0.0, q[src], inb);
      tile_b[e] = select(0.0, dout[src], inb);
    }
    for (var e = lid; e < BK; e += BQ) {
      let i = min(i0 + e, p.T - 1u);
      tile_l[e] = lse[rows + i];
      tile_d[e] = dsum[rows + i];
    }
    workgroupBarrier();
    if (valid) {
      let n = min(BK, p.T - i0);
      for (var ii = 0u; ii < n; ii++) {
        if (i0 + ii < j) { continue; }
        var s = 0.0;
        var dp = 0.0;
        for (var c = 0u; c < DK; c++) {
          s = fma(kr[c], tile_a[ii * DK + c], s);
          dp = fma(vr[c], tile_b[ii * DK + c], dp);
        }
        let pr = exp(s - tile_l[ii]);
        let ds = pr * (dp - tile_d[ii]);
        for (var c = 0u; c < DK; c++) {
          dva[c] = fma(pr, tile_b[ii * DK + c], dva[c]);
          dka[c] = fma(ds, tile_a[ii * DK + c], dka[c]);
        }
      }
    }
    workgroupBarrier();
  }
  if (valid) {
    for (var c = 0u; c < DK; c++) {
      dk[base + j * p.sT + c] = dka[c] * p.scale;
      dv[base + j * p.sT + c] = dva[c];
    }
  }
}
