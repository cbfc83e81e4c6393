// AdamW (torch.optim.AdamW semantics), fused over all parameters in one flat buffer, bound in ranges:
//   g ← g · stats[STAT_COEF] (unscale and clip, from grad_clip_finalize; the step is skipped when stats[STAT_SKIP] ≠ 0,
//                          i.e. the loss-scaled gradients overflowed)
//   p ← p · (1 − lr·wd)
//   m ← β1·m + (1−β1)·g;   v ← β2·v + (1−β2)·g²
//   p ← p − (lr / (1−β1^t)) · m / (sqrt(v) / sqrt(1−β2^t) + eps)
// lr and the bias corrections change every step: they live in a small uniform the host rewrites per step.
// The optimizer stats slots come from the one TS table (src-main/engine/kernels/grad-clip.ts STATS):
// defines: STAT_NORM STAT_COEF STAT_SKIP STAT_SCALE STAT_GOOD_STEPS

struct Params { n: u32, p0: u32, p1: u32, p2: u32 }
struct StepParams { lr: f32, beta1: f32, beta2: f32, eps: f32, weight_decay: f32, bc1: f32, bc2_sqrt: f32, p0: f32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<uniform> sp: StepParams;
@group(0) @binding(2) var<storage, read_write> param: array<f32>;
@group(0) @binding(3) var<storage, read> grad: array<f32>;
@group(0) @binding(4) var<storage, read_write> m: array<f32>;
@group(0) @binding(5) var<storage, read_write> v: array<f32>;
@group(0) @binding(6) var<storage, read> stats: array<f32>;

@compute @workgroup_size(256)
fn adamw_step(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = (wg.y * nwg.x + wg.x) * 256u + lid;
  if (i >= p.n || stats[STAT_SKIP] != 0.0) { return; }
  let g = grad[i] * stats[STAT_COEF];
  var x = param[i] * (1.0 - sp.lr * sp.weight_decay);
  let mi = sp.beta1 * m[i] + (1.0 - sp.beta1) * g;
  let vi = sp.beta2 * v[i] + (1.0 - sp.beta2) * g * g;
  m[i] = mi;
  v[i] = vi;
  x = x - (sp.lr / sp.bc1) * mi / (sqrt(vi) / sp.bc2_sqrt + sp.eps);
  param[i] = x;
}
