// Two f32 values as one u32 of two IEEE halves (low half first), for kernels that write f16 copies of their outputs
// for the tensor-core GEMMs. pack2x16float leaves values outside f16's range undefined in WGSL, so they are set
// explicitly: ±inf past the largest finite half (65504; 65520 and up round to inf), NaN kept NaN. The loss-scale
// overflow check relies on seeing them.
fn half_bits(x: f32, packed: u32) -> u32 {
  if (x != x) { return 0x7e00u; }
  if (abs(x) >= 65520.0) { return select(0x7c00u, 0xfc00u, x < 0.0); }
  return packed;
}

fn pack_half2(v: vec2<f32>) -> u32 {
  let w = pack2x16float(v);
  return half_bits(v.x, w & 0xffffu) | (half_bits(v.y, w >> 16u) << 16u);
}
