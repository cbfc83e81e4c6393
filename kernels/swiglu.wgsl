// swiglu gate: h = SiLU(a) ⊙ b, with a = W1·x and b = W3·x computed by linear.
// backward: da = dh·b·SiLU'(a), db = dh·SiLU(a), written in place over a and b (they are not needed after).
// SiLU(a) = a·σ(a), SiLU'(a) = σ(a)·(1 + a·(1 − σ(a))).
// The _half entries (mixed precision) write their results only as f16 copies for the GEMMs that read them (h16;
// da16, db16; packed two per u32, one pair per thread) and leave a and b as they are.

struct Params { n: u32, p0: u32, p1: u32, p2: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> a: array<f32>;
@group(0) @binding(2) var<storage, read_write> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> h: array<f32>;
@group(0) @binding(4) var<storage, read> dh: array<f32>;
@group(0) @binding(5) var<storage, read_write> out16a: array<u32>;
@group(0) @binding(6) var<storage, read_write> out16b: array<u32>;

// include: f16_pack

fn sigmoid(v: f32) -> f32 { return 1.0 / (1.0 + exp(-v)); }

@compute @workgroup_size(256)
fn swiglu_forward(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = (wg.y * nwg.x + wg.x) * 256u + lid;
  if (i >= p.n) { return; }
  let av = a[i];
  h[i] = av * sigmoid(av) * b[i];
}

@compute @workgroup_size(256)
fn swiglu_backward(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = (wg.y * nwg.x + wg.x) * 256u + lid;
  if (i >= p.n) { return; }
  let av = a[i];
  let bv = b[i];
  let g = dh[i];
  let s = sigmoid(av);
  a[i] = g * bv * s * (1.0 + av * (1.0 - s));
  b[i] = g * av * s;
}

// Element i as a pair member: zero past n (an odd n's last pair).
fn at(x: f32, i: u32) -> f32 { return select(0.0, x, i < p.n); }

@compute @workgroup_size(256)
fn swiglu_forward_half(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let t = (wg.y * nwg.x + wg.x) * 256u + lid;
  let i = 2u * t;
  if (i >= p.n) { return; }
  let j = min(i + 1u, p.n - 1u);
  let a0 = a[i];
  let a1 = a[j];
  out16a[t] = pack_half2(vec2<f32>(a0 * sigmoid(a0) * b[i], at(a1 * sigmoid(a1) * b[j], i + 1u)));
}

@compute @workgroup_size(256)
fn swiglu_backward_half(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let t = (wg.y * nwg.x + wg.x) * 256u + lid;
  let i = 2u * t;
  if (i >= p.n) { return; }
  let j = min(i + 1u, p.n - 1u);
  let av = vec2<f32>(a[i], a[j]);
  let bv = vec2<f32>(b[i], b[j]);
  let g = vec2<f32>(dh[i], at(dh[j], i + 1u));
  let s = vec2<f32>(sigmoid(av.x), sigmoid(av.y));
  out16a[t] = pack_half2(g * bv * s * (1.0 + av * (1.0 - s)));
  out16b[t] = pack_half2(g * av * s);
}
