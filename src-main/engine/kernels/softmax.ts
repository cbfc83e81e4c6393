// softmax.wgsl: row softmax (checked against PyTorch on its own; the model fuses its softmaxes into other kernels).
import { type Program, rowGrid } from '../gpu/program';
import { bind, type Tensor } from '../gpu/tensor';

export function softmaxForward(prog: Program, rows: number, N: number, x: Tensor, y: Tensor): void {
  const params = prog.uniform([['u32', rows], ['u32', N]]);
  prog.dispatch({ file: 'softmax', entry: 'softmax_forward', bindings: [params, bind(x), bind(y)], workgroups: rowGrid(rows) });
}

