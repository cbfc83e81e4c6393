// embedding: out[row, :] = W[ids[row], :]
// backward: dW[v, :] += Σ_{rows with ids[row] = v} dout[row, :], deterministic (no atomics). The host
// (kernels/embedding.ts) sorts the batch's rows by token id (order) and cuts the sorted rows into chunks of at most
// CH rows that never span two ids (chunk c = order[chunk_start[c] .. chunk_start[c + 1])): an id with at most CH
// rows is one chunk, summed and added into dW by one workgroup (embedding_backward); a longer run (in TinyStories
// the most frequent id is 7% of the tokens: over 2,000 rows of a 128 × 256 batch) is several chunks whose sums go
// to slots of `partial`, and embedding_backward_reduce adds each such id's slots in order into dW. Before the split one
// workgroup summed a whole run alone, which on real text left the GPU waiting on a few workgroups.
//   chunk_dest[c]  the id, or PARTIAL | slot for a chunk of a long run
//   long_id[l], long_slot[l] .. long_slot[l + 1]   the long runs and their slots
//   seg_meta       [chunks, long runs, 0, 0]

struct Params { rows: u32, D: u32, vocab: u32, pad: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> ids: array<u32>;
@group(0) @binding(2) var<storage, read> W: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<storage, read> dout: array<f32>;
@group(0) @binding(5) var<storage, read> order: array<u32>;
@group(0) @binding(6) var<storage, read> chunk_start: array<u32>;
@group(0) @binding(7) var<storage, read> chunk_dest: array<u32>;
@group(0) @binding(8) var<storage, read> seg_meta: array<u32>;
@group(0) @binding(9) var<storage, read_write> dW: array<f32>;
@group(0) @binding(10) var<storage, read_write> partial: array<f32>;
@group(0) @binding(11) var<storage, read> long_id: array<u32>;
@group(0) @binding(12) var<storage, read> long_slot: array<u32>;

const WG: u32 = 64u;
const PARTIAL: u32 = 0x80000000u;

@compute @workgroup_size(WG)
fn embedding_forward(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let row = wg.y * nwg.x + wg.x;
  if (row >= p.rows) { return; }
  let id = min(ids[row], p.vocab - 1u);
  for (var c = lid; c < p.D; c += WG) { out[row * p.D + c] = W[id * p.D + c]; }
}

// One chunk per workgroup: its rows summed in order, into dW (an id's only chunk) or into its slot of partial.
@compute @workgroup_size(WG)
fn embedding_backward(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let chunk = wg.y * nwg.x + wg.x;
  if (chunk >= seg_meta[0]) { return; }
  let a = chunk_start[chunk];
  let b = chunk_start[chunk + 1u];
  let dest = chunk_dest[chunk];
  for (var c = lid; c < p.D; c += WG) {
    var s = 0.0;
    for (var i = a; i < b; i++) { s += dout[order[i] * p.D + c]; }
    if ((dest & PARTIAL) != 0u) {
      partial[(dest & ~PARTIAL) * p.D + c] = s;
    } else {
      let v = min(dest, p.vocab - 1u); // as in the forward (ids ≥ vocab never reach here: the loaders reject them)
      dW[v * p.D + c] = dW[v * p.D + c] + s;
    }
  }
}

// One long run per workgroup: its chunks' sums added in order into dW.
@compute @workgroup_size(WG)
fn embedding_backward_reduce(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let l = wg.y * nwg.x + wg.x;
  if (l >= seg_meta[1]) { return; }
  let v = min(long_id[l], p.vocab - 1u);
  let a = long_slot[l];
  let b = long_slot[l + 1u];
  for (var c = lid; c < p.D; c += WG) {
    var s = 0.0;
    for (var j = a; j < b; j++) { s += partial[j * p.D + c]; }
    dW[v * p.D + c] = dW[v * p.D + c] + s;
  }
}
