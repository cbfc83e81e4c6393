// rope.wgsl: rotary position embedding on adjacent pairs, in place, with host-computed cos/sin tables (two pairs
// per invocation where the layout allows vec4 accesses).
import { type Program, elemGrid } from '../gpu/program';
import { bind, bindF16, numel, type Tensor } from '../gpu/tensor';

export interface RopeArgs { B: number; H: number; T: number; dk: number; sB: number; sH: number; sT: number }

/** Whether the two-pairs-per-invocation entry points (vec4 accesses) take this layout: dk and the strides multiples of 4, x 16-byte aligned. */
function byQuads(a: RopeArgs, x: Tensor): boolean {
  return a.dk % 4 === 0 && a.sB % 4 === 0 && a.sH % 4 === 0 && a.sT % 4 === 0 && x.byteOffset % 16 === 0;
}

/** Rotates x in place (forward) or by the negative angle (backward). */
export function rope(prog: Program, a: RopeArgs, x: Tensor, positions: Tensor, cos: Tensor, sin: Tensor, backward: boolean, label?: string): void {
  const params = prog.uniform([
    ['u32', a.B], ['u32', a.H], ['u32', a.T], ['u32', a.dk / 2], ['u32', a.sB], ['u32', a.sH], ['u32', a.sT], ['f32', backward ? -1 : 1],
  ]);
  const entry = backward ? 'rope_backward' : 'rope_forward';
  if (byQuads(a, x)) {
    prog.dispatch({ file: 'rope', entry: `${entry}4`, label: label ?? entry, bindings: [params, undefined, bind(positions), bind(cos), bind(sin), undefined, bind(x)], workgroups: elemGrid((a.B * a.H * a.T * a.dk) / 4) });
    return;
  }
  prog.dispatch({ file: 'rope', entry, label: label ?? entry, bindings: [params, bind(x), bind(positions), bind(cos), bind(sin)], workgroups: elemGrid((a.B * a.H * a.T * a.dk) / 2) });
}

/**
 * The backward rotation written only as an f16 tensor laid out like x (mixed precision: the GEMMs' operand), x left
 * as it is; the strides must be even (two halves per u32).
 */
export function ropeBackwardHalf(prog: Program, a: RopeArgs, x: Tensor, positions: Tensor, cos: Tensor, sin: Tensor, x16: Tensor, label = 'rope_backward_half'): void {
  if (a.sB % 2 !== 0 || a.sH % 2 !== 0 || a.sT % 2 !== 0) throw new Error(`rope f16 output: the strides must be even (got ${a.sB}, ${a.sH}, ${a.sT})`);
  const params = prog.uniform([
    ['u32', a.B], ['u32', a.H], ['u32', a.T], ['u32', a.dk / 2], ['u32', a.sB], ['u32', a.sH], ['u32', a.sT], ['f32', -1],
  ]);
  if (byQuads(a, x) && x16.byteOffset % 8 === 0) {
    prog.dispatch({
      file: 'rope', entry: 'rope_backward_half4', label,
      bindings: [params, undefined, bind(positions), bind(cos), bind(sin), undefined, bind(x), bindF16(x16, numel(x.shape), 8)],
      workgroups: elemGrid((a.B * a.H * a.T * a.dk) / 4),
    });
    return;
  }
  prog.dispatch({
    file: 'rope', entry: 'rope_backward_half', label,
    bindings: [params, bind(x), bind(positions), bind(cos), bind(sin), bindF16(x16, numel(x.shape))],
    workgroups: elemGrid((a.B * a.H * a.T * a.dk) / 2),
  });
}

/** cos/sin tables [maxPos, dk/2] computed in float64: angle = pos · θ^(−2i/dk). */
export function ropeTables(maxPos: number, dk: number, theta: number): { cos: Float32Array; sin: Float32Array } {
  const half = dk / 2;
  const cos = new Float32Array(maxPos * half);
  const sin = new Float32Array(maxPos * half);
  for (let pos = 0; pos < maxPos; pos++) {
    for (let i = 0; i < half; i++) {
      const angle = pos * Math.pow(theta, (-2 * i) / dk);
      cos[pos * half + i] = Math.cos(angle);
      sin[pos * half + i] = Math.sin(angle);
    }
  }
  return { cos, sin };
}
