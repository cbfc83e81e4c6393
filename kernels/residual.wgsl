// residual connection: out = a + b. Its backward is the identity on both inputs; the engine adds gradient
// contributions with the accumulate flags of linear and rmsnorm instead of a separate kernel.
// residual_forward takes any n; residual_forward4 four elements per invocation (vec4 loads and stores) where n is a
// multiple of 4 and every tensor starts 16-byte aligned (the host picks it; issue 16: 16-byte accesses).

struct Params { n: u32, p0: u32, p1: u32, p2: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(256)
fn residual_forward(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = (wg.y * nwg.x + wg.x) * 256u + lid;
  if (i >= p.n) { return; }
  out[i] = a[i] + b[i];
}

@group(0) @binding(4) var<storage, read> a4: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read> b4: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read_write> out4: array<vec4<f32>>;

// p.n counts vec4s here.
@compute @workgroup_size(256)
fn residual_forward4(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = (wg.y * nwg.x + wg.x) * 256u + lid;
  if (i >= p.n) { return; }
  out4[i] = a4[i] + b4[i];
}
