// cross entropy: loss = mean over rows of (logsumexp(logits) − logits[target]), fused with its gradient.
// forward_backward: one workgroup per row computes max and Σexp once, writes the row's loss, then overwrites
//   the logits in place with d loss/d logits = (softmax − onehot(target)) · inv_n (when write_grad = 1), so the
//   softmax is never stored. Works on a chunk of rows (row_offset) so the logits never need the whole batch.
//   The gradient is multiplied by the loss scale scale[STAT_SCALE] (1 without mixed precision; see grad_clip.wgsl).
//   forward_backward_half (mixed precision) writes the gradient as f16 into grad16 instead, for the LM head's GEMMs.
// reduce: loss[0] = inv_n · Σ row losses, summed in a fixed order by one workgroup (deterministic).
// The *4 entry points do the same four logits at a time (vec4 loads and stores) where V is a multiple of 4 (the host
// picks them; issue 16): the max is the same, Σexp and so the loss and gradient may differ in the last bits (the
// terms are added in another order).
// The optimizer stats slots come from the one TS table (src-main/engine/kernels/grad-clip.ts STATS):
// defines: STAT_NORM STAT_COEF STAT_SKIP STAT_SCALE STAT_GOOD_STEPS

struct Params { rows: u32, V: u32, row_offset: u32, write_grad: u32, inv_n: f32, total_rows: u32, p0: u32, p1: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> logits: array<f32>;
@group(0) @binding(2) var<storage, read> targets: array<u32>;
@group(0) @binding(3) var<storage, read_write> row_loss: array<f32>;
@group(0) @binding(4) var<storage, read_write> loss: array<f32>;
@group(0) @binding(5) var<storage, read> scale: array<f32>;
@group(0) @binding(6) var<storage, read_write> grad16: array<u32>;

// include: f16_pack

const WG: u32 = 256u;
// include: workgroup_reduce

// The row's target, kept inside the row (the data loaders reject ids ≥ vocab_size; embedding clamps the same way).
fn target_of(row: u32) -> u32 { return min(targets[p.row_offset + row], p.V - 1u); }

// The row's max and Σexp (all lanes get them), and its loss written by lane 0.
fn row_stats(row: u32, lid: u32) -> vec2<f32> {
  let base = row * p.V;
  var mx = -3.0e38;
  for (var c = lid; c < p.V; c += WG) { mx = max(mx, logits[base + c]); }
  mx = reduce(lid, mx, true);
  var se = 0.0;
  for (var c = lid; c < p.V; c += WG) { se += exp(logits[base + c] - mx); }
  se = reduce(lid, se, false);
  let tgt = target_of(row);
  if (lid == 0u) { row_loss[p.row_offset + row] = mx + log(se) - logits[base + tgt]; }
  workgroupBarrier();
  return vec2<f32>(mx, se);
}

@compute @workgroup_size(WG)
fn cross_entropy_forward_backward(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let row = wg.y * nwg.x + wg.x;
  if (row >= p.rows) { return; }
  let st = row_stats(row, lid);
  if (p.write_grad != 0u) {
    let base = row * p.V;
    let tgt = target_of(row);
    let inv_se = 1.0 / st.y;
    let k = p.inv_n * scale[STAT_SCALE];
    for (var c = lid; c < p.V; c += WG) {
      let pr = exp(logits[base + c] - st.x) * inv_se;
      logits[base + c] = (pr - select(0.0, 1.0, c == tgt)) * k;
    }
  }
}

// Mixed precision: the gradient only as an f16 copy (grad16, two per u32; V even), the logits left as they are.
@compute @workgroup_size(WG)
fn cross_entropy_forward_backward_half(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let row = wg.y * nwg.x + wg.x;
  if (row >= p.rows) { return; }
  let st = row_stats(row, lid);
  let base = row * p.V;
  let tgt = target_of(row);
  let inv_se = 1.0 / st.y;
  let k = p.inv_n * scale[STAT_SCALE];
  for (var c = 2u * lid; c < p.V; c += 2u * WG) {
    let pr = exp(vec2<f32>(logits[base + c], logits[base + c + 1u]) - st.x) * inv_se;
    let onehot = vec2<f32>(select(0.0, 1.0, c == tgt), select(0.0, 1.0, c + 1u == tgt));
    grad16[(base + c) / 2u] = pack_half2((pr - onehot) * k);
  }
}

@compute @workgroup_size(WG)
fn cross_entropy_reduce(@builtin(local_invocation_index) lid: u32) {
  var s = 0.0;
  for (var i = lid; i < p.total_rows; i += WG) { s += row_loss[i]; }
  s = reduce(lid, s, false);
  if (lid == 0u) { loss[0] = s * p.inv_n; }
}

@group(0) @binding(7) var<storage, read_write> logits4: array<vec4<f32>>;
@group(0) @binding(8) var<storage, read_write> grad16x2: array<vec2<u32>>;

// row_stats four logits at a time (V a multiple of 4; row r's logits are vec4s [r·V/4, (r+1)·V/4)).
fn row_stats4(row: u32, lid: u32) -> vec2<f32> {
  let V4 = p.V / 4u;
  let base = row * V4;
  var m4 = vec4<f32>(-3.0e38);
  for (var c = lid; c < V4; c += WG) { m4 = max(m4, logits4[base + c]); }
  let mx = reduce(lid, max(max(m4.x, m4.y), max(m4.z, m4.w)), true);
  var s4 = vec4<f32>(0.0);
  for (var c = lid; c < V4; c += WG) { s4 += exp(logits4[base + c] - mx); }
  let se = reduce(lid, (s4.x + s4.y) + (s4.z + s4.w), false);
  let tgt = target_of(row);
  if (lid == 0u) { row_loss[p.row_offset + row] = mx + log(se) - logits4[base + tgt / 4u][tgt % 4u]; }
  workgroupBarrier();
  return vec2<f32>(mx, se);
}

fn onehot4(c4: u32, tgt: u32) -> vec4<f32> {
  let c = 4u * c4;
  return vec4<f32>(select(0.0, 1.0, c == tgt), select(0.0, 1.0, c + 1u == tgt), select(0.0, 1.0, c + 2u == tgt), select(0.0, 1.0, c + 3u == tgt));
}

@compute @workgroup_size(WG)
fn cross_entropy_forward_backward4(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let row = wg.y * nwg.x + wg.x;
  if (row >= p.rows) { return; }
  let st = row_stats4(row, lid);
  if (p.write_grad != 0u) {
    let V4 = p.V / 4u;
    let base = row * V4;
    let tgt = target_of(row);
    let inv_se = 1.0 / st.y;
    let k = p.inv_n * scale[STAT_SCALE];
    for (var c = lid; c < V4; c += WG) {
      let pr = exp(logits4[base + c] - st.x) * inv_se;
      logits4[base + c] = (pr - onehot4(c, tgt)) * k;
    }
  }
}

@compute @workgroup_size(WG)
fn cross_entropy_forward_backward_half4(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let row = wg.y * nwg.x + wg.x;
  if (row >= p.rows) { return; }
  let st = row_stats4(row, lid);
  let V4 = p.V / 4u;
  let base = row * V4;
  let tgt = target_of(row);
  let inv_se = 1.0 / st.y;
  let k = p.inv_n * scale[STAT_SCALE];
  for (var c = lid; c < V4; c += WG) {
    let g = (exp(logits4[base + c] - st.x) * inv_se - onehot4(c, tgt)) * k;
    grad16x2[base + c] = vec2<u32>(pack_half2(g.xy), pack_half2(g.zw));
  }
}
