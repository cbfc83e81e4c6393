// softmax.wgsl: row softmax forward and backward.
import { type Program, uniformBuffer, rowGrid } from '../gpu/program';
import { bind, type Tensor } from '../gpu/tensor';

export function softmaxForward(prog: Program, rows: number, N: number, x: Tensor, y: Tensor): void {
  const params = uniformBuffer(prog.device, [['u32', rows], ['u32', N]]);
  prog.dispatch({ file: 'softmax', entry: 'softmax_forward', bindings: [params, bind(x), bind(y)], workgroups: rowGrid(rows) });
}

export function softmaxBackward(prog: Program, rows: number, N: number, y: Tensor, dy: Tensor, dx: Tensor): void {
  const params = uniformBuffer(prog.device, [['u32', rows], ['u32', N]]);
  prog.dispatch({ file: 'softmax', entry: 'softmax_backward', bindings: [params, undefined, bind(y), bind(dy), bind(dx)], workgroups: rowGrid(rows) });
}
