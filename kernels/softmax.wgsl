// softmax over the last dimension, numerically stable (subtract the row max). One workgroup per row. (The model
// never stores a softmax: cross_entropy.wgsl and attention fuse theirs; this op is checked against PyTorch alone.)

struct Params { rows: u32, N: u32, p0: u32, p1: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

const WG: u32 = 256u;
// include: workgroup_reduce

@compute @workgroup_size(WG)
fn softmax_forward(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let row = wg.y * nwg.x + wg.x;
  if (row >= p.rows) { return; }
  let base = row * p.N;
  var mx = -3.0e38;
  for (var c = lid; c < p.N; c += WG) { mx = max(mx, x[base + c]); }
  mx = reduce(lid, mx, true);
  var se = 0.0;
  for (var c = lid; c < p.N; c += WG) { se += exp(x[base + c] - mx); }
  se = reduce(lid, se, false);
  let inv = 1.0 / se;
  for (var c = lid; c < p.N; c += WG) { y[base + c] = exp(x[base + c] - mx) * inv; }
}
