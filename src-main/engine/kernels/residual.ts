// residual.wgsl: out = a + b.
import { type Program, elemGrid } from '../gpu/program';
import { bind, type Tensor } from '../gpu/tensor';

export function residualForward(prog: Program, n: number, a: Tensor, b: Tensor, out: Tensor): void {
  const params = prog.uniform([['u32', n]]);
  prog.dispatch({ file: 'residual', entry: 'residual_forward', bindings: [params, bind(a), bind(b), bind(out)], workgroups: elemGrid(n) });
}
