// cross_entropy.wgsl: fused softmax cross-entropy with its gradient written in place over the logits (four logits
// at a time where the vocabulary is a multiple of 4).
import { type Program, rowGrid } from '../gpu/program';
import { bind, bindF16, type Tensor } from '../gpu/tensor';
import { STATS_DEFINES } from './grad-clip';

export interface CrossEntropyArgs {
  /** Rows in this chunk of logits. */
  rows: number;
  V: number;
  /** Index of the chunk's first row among all rows (targets and row losses are indexed globally). */
  rowOffset: number;
  /** All rows of the batch: the loss is the mean over them. */
  totalRows: number;
  writeGrad: boolean;
}

/**
 * `stats` is the optimizer's stats buffer (grad-clip.ts STATS): its scale slot is the loss scale applied to the gradient (any 4-float tensor
 * when writeGrad is false). With `grad16` (an f16 tensor of at least rows·V; V even) the gradient goes there as f16
 * and the logits are left unchanged.
 */
export function crossEntropyForwardBackward(prog: Program, a: CrossEntropyArgs, logits: Tensor, targets: Tensor, rowLoss: Tensor, stats: Tensor, grad16?: Tensor): void {
  const params = prog.uniform([
    ['u32', a.rows], ['u32', a.V], ['u32', a.rowOffset], ['u32', a.writeGrad ? 1 : 0], ['f32', 1 / a.totalRows], ['u32', a.totalRows], ['u32', 0], ['u32', 0],
  ]);
  // Four logits at a time where V allows it (the logits start 256-byte aligned, so every row is 16-byte aligned).
  const by4 = a.V % 4 === 0 && logits.byteOffset % 16 === 0 && (!grad16 || grad16.byteOffset % 8 === 0);
  if (grad16) {
    if (!a.writeGrad || a.V % 2 !== 0) throw new Error('cross_entropy: an f16 gradient needs writeGrad and an even vocabulary');
    if (by4) {
      prog.dispatch({
        file: 'cross_entropy', entry: 'cross_entropy_forward_backward_half4', label: 'cross_entropy:cross_entropy_forward_backward_half', defines: STATS_DEFINES,
        bindings: [params, undefined, bind(targets), bind(rowLoss), undefined, bind(stats), undefined, bind(logits), bindF16(grad16, a.rows * a.V, 8)],
        workgroups: rowGrid(a.rows),
      });
      return;
    }
    prog.dispatch({
      file: 'cross_entropy', entry: 'cross_entropy_forward_backward_half', defines: STATS_DEFINES,
      bindings: [params, bind(logits), bind(targets), bind(rowLoss), undefined, bind(stats), bindF16(grad16, a.rows * a.V)],
      workgroups: rowGrid(a.rows),
    });
    return;
  }
  if (by4) {
    prog.dispatch({
      file: 'cross_entropy', entry: 'cross_entropy_forward_backward4', label: 'cross_entropy:cross_entropy_forward_backward', defines: STATS_DEFINES,
      bindings: [params, undefined, bind(targets), bind(rowLoss), undefined, bind(stats), undefined, bind(logits)], workgroups: rowGrid(a.rows),
    });
    return;
  }
  prog.dispatch({
    file: 'cross_entropy', entry: 'cross_entropy_forward_backward', defines: STATS_DEFINES,
    bindings: [params, bind(logits), bind(targets), bind(rowLoss), undefined, bind(stats)], workgroups: rowGrid(a.rows),
  });
}

/** loss[0] = mean of the row losses. */
export function crossEntropyReduce(prog: Program, totalRows: number, rowLoss: Tensor, loss: Tensor): void {
  const params = prog.uniform([
    ['u32', 0], ['u32', 0], ['u32', 0], ['u32', 0], ['f32', 1 / totalRows], ['u32', totalRows], ['u32', 0], ['u32', 0],
  ]);
  prog.dispatch({ file: 'cross_entropy', entry: 'cross_entropy_reduce', defines: STATS_DEFINES, bindings: [params, undefined, undefined, bind(rowLoss), bind(loss)], workgroups: [1] });
}
