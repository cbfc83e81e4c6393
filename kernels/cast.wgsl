// cast: out = f16(x), eight elements per thread (two vec4<f32> in, one vec4<u32> of packed halves out). Mixed
// precision feeds the tensor-core GEMMs f16 copies of their operands (weights, activations, gradients); f32 stays
// the master copy. Values beyond f16's range become ±inf and NaN stays NaN (set explicitly: WGSL leaves the
// packing of out-of-range values undefined), so the loss-scale overflow check sees them.
// The output is written in whole 16-byte groups: its binding is n rounded up to 8 halves (tensors are 16-aligned).

struct Params { n: u32, p0: u32, p1: u32, p2: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> out: array<vec4<u32>>;

fn x1(i: u32) -> f32 {
  if (i >= p.n) { return 0.0; }
  return x[i >> 2u][i & 3u];
}

// include: f16_pack

@compute @workgroup_size(256)
fn cast_f16(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let g = (wg.y * nwg.x + wg.x) * 256u + lid; // group of 8 elements
  let e = g * 8u;
  if (e >= p.n) { return; }
  var lo: vec4<f32>;
  var hi: vec4<f32>;
  if (e + 8u <= p.n) {
    lo = x[2u * g];
    hi = x[2u * g + 1u];
  } else {
    lo = vec4<f32>(x1(e), x1(e + 1u), x1(e + 2u), x1(e + 3u));
    hi = vec4<f32>(x1(e + 4u), x1(e + 5u), x1(e + 6u), x1(e + 7u));
  }
  out[g] = vec4<u32>(pack_half2(lo.xy), pack_half2(lo.zw), pack_half2(hi.xy), pack_half2(hi.zw));
}
