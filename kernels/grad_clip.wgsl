// global gradient-norm clipping over all parameters (one flat gradient buffer, bound in ranges).
// partial:  partials[part_offset + wg] = Σ g² over the workgroup's slice (fixed-order tree sum)
// finalize: stats[0] = ‖g‖₂ = sqrt(Σ partials), stats[1] = clip coefficient min(1, max_norm / (‖g‖₂ + eps))
// apply:    g ← g · stats[1]   (AdamW reads stats[1] directly instead, saving a pass over the gradients)

struct Params { n: u32, part_offset: u32, num_partials: u32, max_norm: f32, eps: f32, p0: u32, p1: u32, p2: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> g: array<f32>;
@group(0) @binding(2) var<storage, read_write> partials: array<f32>;
@group(0) @binding(3) var<storage, read_write> stats: array<f32>;

const WG: u32 = 256u;
const PER_THREAD: u32 = 16u;
var<workgroup> red: array<f32, WG>;

fn reduce(lid: u32, v: f32) -> f32 {
  red[lid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) { red[lid] = red[lid] + red[lid + s]; }
    workgroupBarrier();
  }
  return red[0];
}

@compute @workgroup_size(WG)
fn grad_clip_partial(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let w = wg.y * nwg.x + wg.x;
  let start = w * WG * PER_THREAD;
  var s = 0.0;
  for (var e = 0u; e < PER_THREAD; e++) {
    let i = start + e * WG + lid;
    if (i < p.n) { let v = g[i]; s = fma(v, v, s); }
  }
  let total = reduce(lid, s);
  if (lid == 0u) { partials[p.part_offset + w] = total; }
}

@compute @workgroup_size(WG)
fn grad_clip_finalize(@builtin(local_invocation_index) lid: u32) {
  var s = 0.0;
  for (var i = lid; i < p.num_partials; i += WG) { s += partials[i]; }
  let total = reduce(lid, s);
  if (lid == 0u) {
    let norm = sqrt(total);
    stats[0] = norm;
    stats[1] = min(1.0, p.max_norm / (norm + p.eps));
  }
}

@compute @workgroup_size(WG)
fn grad_clip_apply(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = (wg.y * nwg.x + wg.x) * WG + lid;
  if (i < p.n) { g[i] = g[i] * stats[1]; }
}
