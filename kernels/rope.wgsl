// rope: rotate adjacent pairs (x[2i], x[2i+1]) of each head vector by angle pos·θ^(−2i/dk), in place.
// The host computes the cos/sin table [max_pos, dk/2] in float64. Element (b, h, t, c) lives at
// b·sB + h·sH + t·sT + c, so the same kernel serves [B,T,H·dk] projections and [B,H,T,dk] tensors.
// backward: the transpose of a rotation is the rotation by −angle (sign = −1).
// backward_half (mixed precision): the backward writing the rotated pairs only as the f16 copy that the GEMMs read
// (out16, one u32 of two halves per pair at element offset o / 2, so the strides must be even), x unchanged.
// The *4 entry points do the same per element, two pairs (a vec4) per invocation, where dk and the strides are
// multiples of 4 and the tensors 16-byte aligned (the host picks them): the same values bit for bit, with 16-byte
// accesses and half the index arithmetic (issue 16).

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

@group(0) @binding(6) var<storage, read_write> x4: array<vec4<f32>>;
@group(0) @binding(7) var<storage, read_write> out16x2: array<vec2<u32>>;

// Two adjacent pairs (2·i2, 2·i2 + 1) of one head vector: (element offset / 4 of the pair 2·i2, table index of it).
fn quad(idx: u32) -> vec2<u32> {
  let q = p.half_dk / 2u;
  let i2 = idx % q;
  let t = (idx / q) % p.T;
  let h = (idx / (q * p.T)) % p.H;
  let b = idx / (q * p.T * p.H);
  return vec2<u32>((b * p.sB + h * p.sH + t * p.sT) / 4u + i2, positions[t] * p.half_dk + 2u * i2);
}

fn rotated4(v: vec4<f32>, tab: u32) -> vec4<f32> {
  let c0 = cos_t[tab];
  let s0 = sin_t[tab] * p.sign;
  let c1 = cos_t[tab + 1u];
  let s1 = sin_t[tab + 1u] * p.sign;
  return vec4<f32>(v.x * c0 - v.y * s0, v.x * s0 + v.y * c0, v.z * c1 - v.w * s1, v.z * s1 + v.w * c1);
}

fn rotate4(idx: u32) {
  if (idx >= p.B * p.H * p.T * (p.half_dk / 2u)) { return; }
  let qd = quad(idx);
  x4[qd.x] = rotated4(x4[qd.x], qd.y);
}

@compute @workgroup_size(256)
fn rope_forward4(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  rotate4((wg.y * nwg.x + wg.x) * 256u + lid);
}

@compute @workgroup_size(256)
fn rope_backward4(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  rotate4((wg.y * nwg.x + wg.x) * 256u + lid);
}

@compute @workgroup_size(256)
fn rope_backward_half4(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let idx = (wg.y * nwg.x + wg.x) * 256u + lid;
  if (idx >= p.B * p.H * p.T * (p.half_dk / 2u)) { return; }
  let qd = quad(idx);
  let r = rotated4(x4[qd.x], qd.y);
  out16x2[qd.x] = vec2<u32>(pack_half2(r.xy), pack_half2(r.zw));
}
