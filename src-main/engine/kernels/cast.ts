// cast.wgsl: f16 copies of f32 tensors (mixed precision's GEMM operands).
import { type Program, grid } from '../gpu/program';
import { alignUp, bindF16, numel, type Tensor } from '../gpu/tensor';

/** out[i] = f16(x[i]) for i < n (n defaults to x's size); out is an f16 tensor with room for n rounded up to 8. */
export function castF16(prog: Program, x: Tensor, out: Tensor, n = numel(x.shape), label = 'cast_f16'): void {
  if (x.dtype !== 'f32' || out.dtype !== 'f16') throw new Error(`cast_f16: ${x.label} (${x.dtype}) → ${out.label} (${out.dtype}) must be f32 → f16`);
  if (n > numel(out.shape) || n > numel(x.shape)) throw new Error(`cast_f16: ${n} elements do not fit ${x.label} → ${out.label}`);
  if (n === 0) return;
  const params = prog.uniform([['u32', n]]);
  const inBytes = Math.min(alignUp(n * 4, 16), x.buffer.size - x.byteOffset);
  prog.dispatch({
    file: 'cast', entry: 'cast_f16', label,
    bindings: [params, { buffer: x.buffer, offset: x.byteOffset, size: inBytes }, bindF16(out, n, 16)],
    workgroups: grid(Math.ceil(n / 8 / 256)),
  });
}
