// residual.wgsl: out = a + b (vec4 at a time where the sizes and offsets allow it).
import { type Program, elemGrid } from '../gpu/program';
import { bind, type Tensor } from '../gpu/tensor';

export function residualForward(prog: Program, n: number, a: Tensor, b: Tensor, out: Tensor): void {
  if (n % 4 === 0 && [a, b, out].every((t) => t.byteOffset % 16 === 0)) {
    const params = prog.uniform([['u32', n / 4]]);
    prog.dispatch({ file: 'residual', entry: 'residual_forward4', bindings: [params, undefined, undefined, undefined, bind(a), bind(b), bind(out)], workgroups: elemGrid(n / 4) });
    return;
  }
  const params = prog.uniform([['u32', n]]);
  prog.dispatch({ file: 'residual', entry: 'residual_forward', bindings: [params, bind(a), bind(b), bind(out)], workgroups: elemGrid(n) });
}
