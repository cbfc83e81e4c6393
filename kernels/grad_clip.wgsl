// global gradient-norm clipping over all parameters (one flat gradient buffer, bound in ranges).
// partial:  partials[part_offset + wg] = Σ g² over the workgroup's slice (fixed-order tree sum)
// finalize: with loss scale S = stats[3] (gradients arrive multiplied by S):
//           stats[0] = ‖g‖₂ / S, stats[1] = min(1, max_norm / (stats[0] + eps)) / S (the factor that unscales and
//           clips), stats[2] = 1 if the gradients hold inf/NaN (AdamW then skips the step), and with dynamic
//           loss scaling S halves on overflow and doubles after `growth_interval` good steps (stats[4] counts).
//           All on the GPU: no readback per step. Without scaling S stays 1 and this is plain clipping.
// apply:    g ← g · stats[1]   (AdamW reads stats[1] directly instead, saving a pass over the gradients)
// (stats[i] above: the slots STAT_NORM 0, STAT_COEF 1, STAT_SKIP 2, STAT_SCALE 3, STAT_GOOD_STEPS 4)
// The optimizer stats slots come from the one TS table (src-main/engine/kernels/grad-clip.ts STATS):
// defines: STAT_NORM STAT_COEF STAT_SKIP STAT_SCALE STAT_GOOD_STEPS

struct Params { n: u32, part_offset: u32, num_partials: u32, max_norm: f32, eps: f32, dynamic_scale: u32, growth_interval: u32, p2: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> g: array<f32>;
@group(0) @binding(2) var<storage, read_write> partials: array<f32>;
@group(0) @binding(3) var<storage, read_write> stats: array<f32>;

const WG: u32 = 256u;
const PER_THREAD: u32 = 16u;
// include: workgroup_reduce

@compute @workgroup_size(WG)
fn grad_clip_partial(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let w = wg.y * nwg.x + wg.x;
  let start = w * WG * PER_THREAD;
  var s = 0.0;
  for (var e = 0u; e < PER_THREAD; e++) {
    let i = start + e * WG + lid;
    if (i < p.n) { let v = g[i]; s = fma(v, v, s); }
  }
  let total = reduce_sum(lid, s);
  // A 2-D grid (over 65535 workgroups) overshoots: its extra workgroups own no slot (the next range's, or past the
  // end of partials for the last range).
  if (lid == 0u && start < p.n) { partials[p.part_offset + w] = total; }
}

@compute @workgroup_size(WG)
fn grad_clip_finalize(@builtin(local_invocation_index) lid: u32) {
  var s = 0.0;
  for (var i = lid; i < p.num_partials; i += WG) { s += partials[i]; }
  let total = reduce_sum(lid, s);
  if (lid == 0u) {
    let S = stats[STAT_SCALE];
    let bad = (bitcast<u32>(total) & 0x7f800000u) == 0x7f800000u; // inf or NaN
    let norm = sqrt(total) / S;
    stats[STAT_NORM] = norm;
    stats[STAT_COEF] = min(1.0, p.max_norm / (norm + p.eps)) / S;
    stats[STAT_SKIP] = select(0.0, 1.0, bad);
    if (p.dynamic_scale != 0u) {
      if (bad) {
        stats[STAT_SCALE] = max(S * 0.5, 1.0);
        stats[STAT_GOOD_STEPS] = 0.0;
      } else if (stats[STAT_GOOD_STEPS] + 1.0 >= f32(p.growth_interval)) {
        stats[STAT_SCALE] = min(S * 2.0, 16777216.0);
        stats[STAT_GOOD_STEPS] = 0.0;
      } else {
        stats[STAT_GOOD_STEPS] = stats[STAT_GOOD_STEPS] + 1.0;
      }
    }
  }
}

@compute @workgroup_size(WG)
fn grad_clip_apply(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = (wg.y * nwg.x + wg.x) * WG + lid;
  if (i < p.n) { g[i] = g[i] * stats[STAT_COEF]; }
}
