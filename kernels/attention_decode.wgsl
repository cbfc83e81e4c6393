// KV-cache decoding: the attention of n new tokens per sequence against a per-layer cache, and greedy argmax.
//   rope_append:      the fused projection row [q | k | v] (3·D floats, D = H·DK) of each new token: RoPE on q in
//                     place and on k (absolute position st.pos + t), then k and v written into the caches
//                     [B, Tmax, D] at that position. With ROPE false, k and v are only copied.
//   attention_decode: out[b, t, h] = softmax_j(q·k_j·scale) · v over keys j ≤ st.pos + t (causal within the chunk),
//                     one workgroup per (t, h, b), keys in chunks of WG with an online (running max) softmax.
//   argmax_rows:      ids[b] = the lowest index of the largest logit of row b; also written to
//                     tokens[st.slot · B + b] (the device-side record of chained greedy steps).
//   sample_rows:      ids[b] = a draw from softmax(logits/T) cut to top-k, then to top-p of the top-k mass, with
//                     the host's uniform rand[st.slot · B + b]; the cuts are weight thresholds found by bisection
//                     on the float bits (tokens tied at a cut are all kept), the draw walks ids in order.
// st.pos (the chunk's first absolute position) and st.slot live in a small uniform the host writes before each
// submit, so one recorded program serves every step. No atomics: every output is written by one invocation.
// defines: DK ROPE

struct Params { B: u32, n: u32, H: u32, D: u32, Tmax: u32, half_dk: u32, scale: f32, V: u32 }
struct Step { pos: u32, slot: u32, p2: u32, p3: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<uniform> st: Step;
@group(0) @binding(2) var<storage, read_write> qkv: array<f32>;
@group(0) @binding(3) var<storage, read_write> cache_k: array<f32>;
@group(0) @binding(4) var<storage, read_write> cache_v: array<f32>;
@group(0) @binding(5) var<storage, read> cos_t: array<f32>;
@group(0) @binding(6) var<storage, read> sin_t: array<f32>;
@group(0) @binding(7) var<storage, read_write> o: array<f32>;
@group(0) @binding(8) var<storage, read> logits: array<f32>;
@group(0) @binding(9) var<storage, read_write> ids: array<u32>;
@group(0) @binding(10) var<storage, read_write> tokens: array<u32>;
struct Samp { inv_t: f32, top_k: u32, top_p: f32, pad: u32 }
@group(0) @binding(11) var<uniform> sp: Samp;
@group(0) @binding(12) var<storage, read> rand: array<f32>;
@group(0) @binding(13) var<storage, read_write> wsc: array<f32>;

const WG: u32 = 64u;
const CPT: u32 = (DK + WG - 1u) / WG; // output channels per invocation
// include: workgroup_reduce

@compute @workgroup_size(256)
fn rope_append(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let idx = (wg.y * nwg.x + wg.x) * 256u + lid;
  if (idx >= p.B * p.n * p.H * p.half_dk) { return; }
  let i = idx % p.half_dk;
  let h = (idx / p.half_dk) % p.H;
  let row = idx / (p.half_dk * p.H);
  let b = row / p.n;
  let t = row % p.n;
  let pos = st.pos + t;
  let c = 2u * i;
  let src = row * 3u * p.D + h * DK + c;
  let dst = (b * p.Tmax + pos) * p.D + h * DK + c;
  let two = c + 1u < DK;
  var k0 = qkv[src + p.D];
  var k1 = 0.0;
  if (two) { k1 = qkv[src + p.D + 1u]; }
  if (ROPE) {
    let tab = pos * p.half_dk + i;
    let cs = cos_t[tab];
    let sn = sin_t[tab];
    let q0 = qkv[src];
    let q1 = qkv[src + 1u];
    qkv[src] = q0 * cs - q1 * sn;
    qkv[src + 1u] = q0 * sn + q1 * cs;
    let r0 = k0 * cs - k1 * sn;
    k1 = k0 * sn + k1 * cs;
    k0 = r0;
  }
  cache_k[dst] = k0;
  cache_v[dst] = qkv[src + 2u * p.D];
  if (two) {
    cache_k[dst + 1u] = k1;
    cache_v[dst + 1u] = qkv[src + 2u * p.D + 1u];
  }
}

var<workgroup> qs: array<f32, DK>;
var<workgroup> ps: array<f32, WG>;

@compute @workgroup_size(WG)
fn attention_decode(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let t = wg.x;
  let h = wg.y;
  let b = wg.z;
  let row = b * p.n + t;
  let qoff = row * 3u * p.D + h * DK;
  for (var c = lid; c < DK; c += WG) { qs[c] = qkv[qoff + c]; }
  workgroupBarrier();
  let L = st.pos + t + 1u;
  let kbase = b * p.Tmax * p.D + h * DK;
  var m = -3.0e38;
  var l = 0.0;
  var acc: array<f32, CPT>;
  for (var ci = 0u; ci < CPT; ci++) { acc[ci] = 0.0; }
  for (var j0 = 0u; j0 < L; j0 += WG) {
    let j = j0 + lid;
    var s = -3.0e38;
    if (j < L) {
      let ko = kbase + j * p.D;
      var d = 0.0;
      for (var c = 0u; c < DK; c++) { d = fma(qs[c], cache_k[ko + c], d); }
      s = d * p.scale;
    }
    let mnew = max(m, reduce(lid, s, true));
    let alpha = exp(m - mnew);
    var e = 0.0;
    if (j < L) { e = exp(s - mnew); }
    ps[lid] = e;
    l = l * alpha + reduce(lid, e, false);
    let cnt = min(WG, L - j0);
    for (var ci = 0u; ci < CPT; ci++) {
      let c = lid + ci * WG;
      if (c < DK) {
        var a = acc[ci] * alpha;
        for (var jj = 0u; jj < cnt; jj++) { a = fma(ps[jj], cache_v[kbase + (j0 + jj) * p.D + c], a); }
        acc[ci] = a;
      }
    }
    m = mnew;
    workgroupBarrier();
  }
  let inv = 1.0 / l;
  for (var ci = 0u; ci < CPT; ci++) {
    let c = lid + ci * WG;
    if (c < DK) { o[row * p.D + h * DK + c] = acc[ci] * inv; }
  }
}

var<workgroup> best_v: array<f32, 256>;
var<workgroup> best_i: array<u32, 256>;

@compute @workgroup_size(256)
fn argmax_rows(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let b = wg.x;
  var bv = -3.4e38;
  var bi = 0xffffffffu;
  for (var c = lid; c < p.V; c += 256u) {
    let x = logits[b * p.V + c];
    if (x > bv) { bv = x; bi = c; }
  }
  best_v[lid] = bv;
  best_i[lid] = bi;
  workgroupBarrier();
  for (var s = 128u; s > 0u; s >>= 1u) {
    if (lid < s) {
      let ov = best_v[lid + s];
      let oi = best_i[lid + s];
      if (ov > best_v[lid] || (ov == best_v[lid] && oi < best_i[lid])) { best_v[lid] = ov; best_i[lid] = oi; }
    }
    workgroupBarrier();
  }
  if (lid == 0u) {
    let id = min(best_i[0], p.V - 1u);
    ids[b] = id;
    tokens[st.slot * p.B + b] = id;
  }
}

var<workgroup> win: array<u32, WG>;
var<workgroup> lastk: array<u32, WG>;

// Sum (or count) over the row of the weights whose bits are ≥ cut.
fn kept_sum(base: u32, lid: u32, cut: u32, count: bool) -> f32 {
  var a = 0.0;
  for (var c = lid; c < p.V; c += WG) {
    let x = wsc[base + c];
    if (bitcast<u32>(x) >= cut) { a += select(x, 1.0, count); }
  }
  return reduce(lid, a, false);
}

@compute @workgroup_size(WG)
fn sample_rows(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let b = wg.x;
  let base = b * p.V;
  var m = -3.4e38;
  for (var c = lid; c < p.V; c += WG) { m = max(m, logits[base + c]); }
  m = reduce(lid, m, true);
  for (var c = lid; c < p.V; c += WG) {
    let e = exp((logits[base + c] - m) * sp.inv_t);
    wsc[base + c] = select(0.0, e, e == e);
  }
  storageBarrier();
  workgroupBarrier();
  let one = bitcast<u32>(1.0) + 1u;
  var cut = 0u;
  if (sp.top_k > 0u && sp.top_k < p.V) {
    var lo = 0u;
    var hi = one; // count(≥ lo) ≥ k > count(≥ hi)
    for (var it = 0u; it < 32u; it++) {
      let mid = lo + (hi - lo) / 2u;
      if (kept_sum(base, lid, mid, true) >= f32(sp.top_k)) { lo = mid; } else { hi = mid; }
    }
    cut = lo;
  }
  if (sp.top_p < 1.0) {
    let goal = sp.top_p * kept_sum(base, lid, cut, false);
    var lo = cut;
    var hi = one; // sum(≥ lo) ≥ goal > sum(≥ hi) = 0
    for (var it = 0u; it < 32u; it++) {
      let mid = lo + (hi - lo) / 2u;
      if (kept_sum(base, lid, mid, false) >= goal) { lo = mid; } else { hi = mid; }
    }
    cut = lo;
  }
  // The draw: invocation t owns ids [t·C, (t+1)·C); exclusive prefix of the chunk sums, then one walk.
  let C = (p.V + WG - 1u) / WG;
  let c0 = min(lid * C, p.V);
  let c1 = min(c0 + C, p.V);
  var part = 0.0;
  var lastId = 0xffffffffu;
  for (var c = c0; c < c1; c++) {
    let x = wsc[base + c];
    if (bitcast<u32>(x) >= cut) { part += x; lastId = c; }
  }
  ps[lid] = part;
  workgroupBarrier();
  var prefix = 0.0;
  var total = 0.0;
  for (var t = 0u; t < WG; t++) {
    if (t < lid) { prefix += ps[t]; }
    total += ps[t];
  }
  let u_mass = rand[st.slot * p.B + b] * total;
  var found = 0xffffffffu;
  var acc = prefix;
  for (var c = c0; c < c1; c++) {
    let x = wsc[base + c];
    if (bitcast<u32>(x) >= cut) {
      acc += x;
      if (u_mass < acc) { found = c; break; }
    }
  }
  win[lid] = found;
  lastk[lid] = lastId;
  workgroupBarrier();
  if (lid == 0u) {
    var id = 0xffffffffu;
    var last = 0u;
    for (var t = 0u; t < WG; t++) {
      if (id == 0xffffffffu && win[t] != 0xffffffffu) { id = win[t]; }
      if (lastk[t] != 0xffffffffu) { last = lastk[t]; }
    }
    if (id == 0xffffffffu) { id = last; }
    id = min(id, p.V - 1u);
    ids[b] = id;
    tokens[st.slot * p.B + b] = id;
  }
}
