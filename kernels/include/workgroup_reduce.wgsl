// Tree reduction over one workgroup of WG invocations (WG a power of two, declared by the including kernel): every
// invocation passes its value and gets the total (or the max). Call from uniform control flow (it has barriers);
// the last barrier lets the caller reduce again straight away.
var<workgroup> red: array<f32, WG>;

fn reduce(lid: u32, v: f32, is_max: bool) -> f32 {
  red[lid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) {
      if (is_max) { red[lid] = max(red[lid], red[lid + s]); } else { red[lid] = red[lid] + red[lid + s]; }
    }
    workgroupBarrier();
  }
  let r = red[0];
  workgroupBarrier();
  return r;
}

fn reduce_sum(lid: u32, v: f32) -> f32 { return reduce(lid, v, false); }
