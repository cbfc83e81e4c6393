// swiglu.wgsl and silu.wgsl: the FFN activations (SwiGLU gate, or plain SiLU for the ablation).
import { type Program, elemGrid } from '../gpu/program';
import { bind, bindF16, type Tensor } from '../gpu/tensor';

export function swigluForward(prog: Program, n: number, a: Tensor, b: Tensor, h: Tensor): void {
  const params = prog.uniform([['u32', n]]);
  prog.dispatch({ file: 'swiglu', entry: 'swiglu_forward', bindings: [params, bind(a), bind(b), bind(h)], workgroups: elemGrid(n) });
}

/** Overwrites a with da and b with db. */
export function swigluBackward(prog: Program, n: number, a: Tensor, b: Tensor, dh: Tensor): void {
  const params = prog.uniform([['u32', n]]);
  prog.dispatch({ file: 'swiglu', entry: 'swiglu_backward', bindings: [params, bind(a), bind(b), undefined, bind(dh)], workgroups: elemGrid(n) });
}

/** Mixed precision: h16 = f16(SiLU(a) ⊙ b) only (no f32 h). */
export function swigluForwardHalf(prog: Program, n: number, a: Tensor, b: Tensor, h16: Tensor): void {
  const params = prog.uniform([['u32', n]]);
  prog.dispatch({ file: 'swiglu', entry: 'swiglu_forward_half', bindings: [params, bind(a), bind(b), undefined, undefined, bindF16(h16, n)], workgroups: elemGrid(Math.ceil(n / 2)) });
}

/** Mixed precision: da16, db16 = f16(da), f16(db); a and b are left as they are. */
export function swigluBackwardHalf(prog: Program, n: number, a: Tensor, b: Tensor, dh: Tensor, da16: Tensor, db16: Tensor): void {
  const params = prog.uniform([['u32', n]]);
  prog.dispatch({ file: 'swiglu', entry: 'swiglu_backward_half', bindings: [params, bind(a), bind(b), undefined, bind(dh), bindF16(da16, n), bindF16(db16, n)], workgroups: elemGrid(Math.ceil(n / 2)) });
}

export function siluForward(prog: Program, n: number, a: Tensor, h: Tensor): void {
  const params = prog.uniform([['u32', n]]);
  prog.dispatch({ file: 'silu', entry: 'silu_forward', bindings: [params, bind(a), bind(h)], workgroups: elemGrid(n) });
}

/** Overwrites a with da. */
export function siluBackward(prog: Program, n: number, a: Tensor, dh: Tensor): void {
  const params = prog.uniform([['u32', n]]);
  prog.dispatch({ file: 'silu', entry: 'silu_backward', bindings: [params, bind(a), undefined, bind(dh)], workgroups: elemGrid(n) });
}
