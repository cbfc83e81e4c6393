// embedding.wgsl: token embedding lookup and its deterministic scatter-add backward.
import { type Program, rowGrid } from '../gpu/program';
import { bind, type Tensor } from '../gpu/tensor';

export interface EmbeddingArgs { rows: number; D: number; vocab: number }

export function embeddingForward(prog: Program, a: EmbeddingArgs, ids: Tensor, W: Tensor, out: Tensor): void {
  const params = prog.uniform([['u32', a.rows], ['u32', a.D], ['u32', a.vocab], ['u32', 0]]);
  prog.dispatch({ file: 'embedding', entry: 'embedding_forward', bindings: [params, bind(ids), bind(W), bind(out)], workgroups: rowGrid(a.rows) });
}

/** The host-built grouping of a batch's rows by token id (see embedding.wgsl). */
export interface EmbeddingSegments { order: Tensor; segStart: Tensor; segId: Tensor; segMeta: Tensor }

/** dW += scatter of dout rows by token id; dW must be zeroed (or hold other contributions) beforehand. */
export function embeddingBackward(prog: Program, a: EmbeddingArgs, dout: Tensor, seg: EmbeddingSegments, dW: Tensor): void {
  const params = prog.uniform([['u32', a.rows], ['u32', a.D], ['u32', a.vocab], ['u32', 0]]);
  prog.dispatch({
    file: 'embedding', entry: 'embedding_backward',
    bindings: [params, undefined, undefined, undefined, bind(dout), bind(seg.order), bind(seg.segStart), bind(seg.segId), bind(seg.segMeta), bind(dW)],
    workgroups: rowGrid(a.rows),
  });
}

/** Host side of the embedding backward: rows sorted by id, one segment per distinct id. */
export function embeddingSegments(ids: Uint32Array): { order: Uint32Array; segStart: Uint32Array; segId: Uint32Array; count: number } {
  const n = ids.length;
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  order.sort((a, b) => ids[a] - ids[b] || a - b);
  const segStart = new Uint32Array(n + 1);
  const segId = new Uint32Array(n);
  let count = 0;
  for (let i = 0; i < n; i++) {
    if (i === 0 || ids[order[i]] !== ids[order[i - 1]]) {
      segStart[count] = i;
      segId[count] = ids[order[i]];
      count++;
    }
  }
  segStart[count] = n;
  return { order, segStart, segId, count };
}
