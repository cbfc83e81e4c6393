// embedding: out[row, :] = W[ids[row], :]
// backward: dW[v, :] += Σ_{rows with ids[row] = v} dout[row, :], deterministic (no atomics): the host sorts the
// batch's rows by token id (order), groups them into segments (one per distinct id: seg_start, seg_id, and the
// segment count in seg_meta[0]); one workgroup sums one segment in a fixed order.

struct Params { rows: u32, D: u32, vocab: u32, pad: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> ids: array<u32>;
@group(0) @binding(2) var<storage, read> W: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<storage, read> dout: array<f32>;
@group(0) @binding(5) var<storage, read> order: array<u32>;
@group(0) @binding(6) var<storage, read> seg_start: array<u32>;
@group(0) @binding(7) var<storage, read> seg_id: array<u32>;
@group(0) @binding(8) var<storage, read> seg_meta: array<u32>;
@group(0) @binding(9) var<storage, read_write> dW: array<f32>;

const WG: u32 = 64u;

@compute @workgroup_size(WG)
fn embedding_forward(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let row = wg.y * nwg.x + wg.x;
  if (row >= p.rows) { return; }
  let id = min(ids[row], p.vocab - 1u);
  for (var c = lid; c < p.D; c += WG) { out[row * p.D + c] = W[id * p.D + c]; }
}

@compute @workgroup_size(WG)
fn embedding_backward(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let seg = wg.y * nwg.x + wg.x;
  if (seg >= seg_meta[0]) { return; }
  let v = min(seg_id[seg], p.vocab - 1u); // as in the forward (ids ≥ vocab never reach here: the loaders reject them)
  let a = seg_start[seg];
  let b = seg_start[seg + 1u];
  for (var c = lid; c < p.D; c += WG) {
    var s = 0.0;
    for (var i = a; i < b; i++) { s += dout[order[i] * p.D + c]; }
    dW[v * p.D + c] = dW[v * p.D + c] + s;
  }
}
