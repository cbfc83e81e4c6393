// silu FFN activation (the ablation without a gate): h = SiLU(a) = a·σ(a).
// backward: da = dh·σ(a)·(1 + a·(1 − σ(a))), written in place over a.

struct Params { n: u32, p0: u32, p1: u32, p2: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> a: array<f32>;
@group(0) @binding(2) var<storage, read_write> h: array<f32>;
@group(0) @binding(3) var<storage, read> dh: array<f32>;

fn sigmoid(v: f32) -> f32 { return 1.0 / (1.0 + exp(-v)); }

@compute @workgroup_size(256)
fn silu_forward(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = (wg.y * nwg.x + wg.x) * 256u + lid;
  if (i >= p.n) { return; }
  let av = a[i];
  h[i] = av * sigmoid(av);
}

@compute @workgroup_size(256)
fn silu_backward(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = (wg.y * nwg.x + wg.x) * 256u + lid;
  if (i >= p.n) { return; }
  let av = a[i];
  let s = sigmoid(av);
  a[i] = dh[i] * s * (1.0 + av * (1.0 - s));
}
