// swiglu.wgsl and silu.wgsl: the FFN activations (SwiGLU gate, or plain SiLU for the ablation).
import { type Program, uniformBuffer, elemGrid } from '../gpu/program';
import { bind, type Tensor } from '../gpu/tensor';

export function swigluForward(prog: Program, n: number, a: Tensor, b: Tensor, h: Tensor): void {
  const params = uniformBuffer(prog.device, [['u32', n]]);
  prog.dispatch({ file: 'swiglu', entry: 'swiglu_forward', bindings: [params, bind(a), bind(b), bind(h)], workgroups: elemGrid(n) });
}

/** Overwrites a with da and b with db. */
export function swigluBackward(prog: Program, n: number, a: Tensor, b: Tensor, dh: Tensor): void {
  const params = uniformBuffer(prog.device, [['u32', n]]);
  prog.dispatch({ file: 'swiglu', entry: 'swiglu_backward', bindings: [params, bind(a), bind(b), undefined, bind(dh)], workgroups: elemGrid(n) });
}

export function siluForward(prog: Program, n: number, a: Tensor, h: Tensor): void {
  const params = uniformBuffer(prog.device, [['u32', n]]);
  prog.dispatch({ file: 'silu', entry: 'silu_forward', bindings: [params, bind(a), bind(h)], workgroups: elemGrid(n) });
}

/** Overwrites a with da. */
export function siluBackward(prog: Program, n: number, a: Tensor, dh: Tensor): void {
  const params = uniformBuffer(prog.device, [['u32', n]]);
  prog.dispatch({ file: 'silu', entry: 'silu_backward', bindings: [params, bind(a), undefined, bind(dh)], workgroups: elemGrid(n) });
}
