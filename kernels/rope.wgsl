// rope: rotate adjacent pairs (x[2i], x[2i+1]) of each head vector by angle pos·θ^(−2i/dk), in place.
// The host computes the cos/sin table [max_pos, dk/2] in float64. Element (b, h, t, c) lives at
// b·sB + h·sH + t·sT + c, so the same kernel serves [B,T,H·dk] projections and [B,H,T,dk] tensors.
// backward: the transpose of a rotation is the rotation by −angle (sign = −1).
// backward_half (mixed precision): the backward writing the rotated pairs only as the f16 copy that the GEMMs read
// (out16, one u32 of two halves per pair at element offset o / 2, so the strides must be even), x unchanged.

struct Params { B: u32, H: u32, T: u32, half_dk: u32, sB: u32, sH: u32, sT: u32, sign: f32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> x: array<f32>;
@group(0) @binding(2) var<storage, read> positions: array<u32>;
@group(0) @binding(3) var<storage, read> cos_t: array<f32>;
@group(0) @binding(4) var<storage, read> sin_t: array<f32>;
@group(0) @binding(5) var<storage, read_write> out16: array<u32>;

// include: f16_pack

fn rotate(idx: u32) {
  let total = p.B * p.H * p.T * p.half_dk;
  if (idx >= total) { return; }
  let i = idx % p.half_dk;
  let t = (idx / p.half_dk) % p.T;
  let h = (idx / (p.half_dk * p.T)) % p.H;
  let b = idx / (p.half_dk * p.T * p.H);
  let o = b * p.sB + h * p.sH + t * p.sT + 2u * i;
  let tab = positions[t] * p.half_dk + i;
  let c = cos_t[tab];
  let s = sin_t[tab] * p.sign;
  let x0 = x[o];
  let x1 = x[o + 1u];
  x[o] = x0 * c - x1 * s;
  x[o + 1u] = x0 * s + x1 * c;
}

@compute @workgroup_size(256)
fn rope_forward(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  rotate((wg.y * nwg.x + wg.x) * 256u + lid);
}

@compute @workgroup_size(256)
fn rope_backward(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  rotate((wg.y * nwg.x + wg.x) * 256u + lid);
}

@compute @workgroup_size(256)
fn rope_backward_half(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let idx = (wg.y * nwg.x + wg.x) * 256u + lid;
  let total = p.B * p.H * p.T * p.half_dk;
  if (idx >= total) { return; }
  let i = idx % p.half_dk;
  let t = (idx / p.half_dk) % p.T;
  let h = (idx / (p.half_dk * p.T)) % p.H;
  let b = idx / (p.half_dk * p.T * p.H);
  let o = b * p.sB + h * p.sH + t * p.sT + 2u * i;
  let tab = positions[t] * p.half_dk + i;
  let c = cos_t[tab];
  let s = sin_t[tab] * p.sign;
  let x0 = x[o];
  let x1 = x[o + 1u];
  out16[o / 2u] = pack_half2(vec2<f32>(x0 * c - x1 * s, x0 * s + x1 * c));
}
