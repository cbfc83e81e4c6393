// embedding.wgsl: token embedding lookup and its deterministic scatter-add backward.
import { type Program, rowGrid } from '../gpu/program';
import { bind, type Tensor } from '../gpu/tensor';

export interface EmbeddingArgs { rows: number; D: number; vocab: number }

export function embeddingForward(prog: Program, a: EmbeddingArgs, ids: Tensor, W: Tensor, out: Tensor): void {
  const params = prog.uniform([['u32', a.rows], ['u32', a.D], ['u32', a.vocab], ['u32', 0]]);
  prog.dispatch({ file: 'embedding', entry: 'embedding_forward', bindings: [params, bind(ids), bind(W), bind(out)], workgroups: rowGrid(a.rows) });
}

/** The most rows one chunk of the embedding backward sums (embedding.wgsl). */
export const EMBEDDING_CHUNK_ROWS = 32;
const PARTIAL = 0x80000000;

/** Sizes of the grouping's buffers for a batch of `rows` rows (whatever the ids): chunks, long runs, partial slots. */
export function embeddingCapacity(rows: number): { chunks: number; longs: number; slots: number } {
  const CH = EMBEDDING_CHUNK_ROWS;
  // Each id's rows make ceil(len / CH) ≤ len / CH + 1 chunks; a long run has len > CH rows, so at most
  // rows / (CH + 1) of them, with ceil(len / CH) < 2·len / CH slots each.
  return { chunks: rows + Math.ceil(rows / CH), longs: Math.max(1, Math.floor(rows / (CH + 1))), slots: Math.max(1, Math.ceil((2 * rows) / CH)) };
}

/** The host-built grouping of a batch's rows by token id (see embedding.wgsl), on the GPU. */
export interface EmbeddingSegments { order: Tensor; chunkStart: Tensor; chunkDest: Tensor; longId: Tensor; longSlot: Tensor; meta: Tensor; partial: Tensor }

/** The same on the host, in arrays of embeddingCapacity's sizes (the used prefix counts): made by the batch loader's worker. */
export interface HostSegments {
  /** Row indices sorted by token id (stable). */
  order: Uint32Array;
  /** Distinct ids. */
  count: number;
  chunkStart: Uint32Array;
  chunkDest: Uint32Array;
  longId: Uint32Array;
  longSlot: Uint32Array;
  chunks: number;
  longs: number;
}

/** dW += scatter of dout rows by token id; dW must be zeroed (or hold other contributions) beforehand. */
export function embeddingBackward(prog: Program, a: EmbeddingArgs, dout: Tensor, seg: EmbeddingSegments, dW: Tensor): void {
  const params = prog.uniform([['u32', a.rows], ['u32', a.D], ['u32', a.vocab], ['u32', 0]]);
  const cap = embeddingCapacity(a.rows);
  prog.dispatch({
    file: 'embedding', entry: 'embedding_backward',
    bindings: [params, undefined, undefined, undefined, bind(dout), bind(seg.order), bind(seg.chunkStart), bind(seg.chunkDest), bind(seg.meta), bind(dW), bind(seg.partial)],
    workgroups: rowGrid(cap.chunks),
  });
  prog.dispatch({
    file: 'embedding', entry: 'embedding_backward_reduce',
    bindings: [params, undefined, undefined, undefined, undefined, undefined, undefined, undefined, bind(seg.meta), bind(dW), bind(seg.partial), bind(seg.longId), bind(seg.longSlot)],
    workgroups: rowGrid(cap.longs),
  });
}

/** Host side of the embedding backward: rows sorted by id, cut into chunks of at most EMBEDDING_CHUNK_ROWS rows of one id. */
export function embeddingSegments(ids: Uint32Array): HostSegments {
  const n = ids.length;
  const CH = EMBEDDING_CHUNK_ROWS;
  const cap = embeddingCapacity(n);
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  order.sort((a, b) => ids[a] - ids[b] || a - b);
  const chunkStart = new Uint32Array(cap.chunks + 1);
  const chunkDest = new Uint32Array(cap.chunks);
  const longId = new Uint32Array(cap.longs);
  const longSlot = new Uint32Array(cap.longs + 1);
  let count = 0;
  let chunks = 0;
  let longs = 0;
  let slots = 0;
  for (let a = 0; a < n; ) {
    const v = ids[order[a]];
    let b = a + 1;
    while (b < n && ids[order[b]] === v) b++;
    count++;
    if (b - a <= CH) {
      chunkStart[chunks] = a;
      chunkDest[chunks++] = v;
    } else {
      longId[longs] = v;
      longSlot[longs++] = slots;
      for (let x = a; x < b; x += CH) {
        chunkStart[chunks] = x;
        chunkDest[chunks++] = (PARTIAL | slots++) >>> 0;
      }
    }
    a = b;
  }
  chunkStart[chunks] = n;
  longSlot[longs] = slots;
  if (chunks > cap.chunks || longs > cap.longs || slots > cap.slots) throw new Error(`embedding segments over capacity: ${chunks}/${cap.chunks} chunks, ${longs}/${cap.longs} runs, ${slots}/${cap.slots} slots`);
  return { order, count, chunkStart, chunkDest, longId, longSlot, chunks, longs };
}
