// The messages between the batch loader (batch-loader.ts) and its worker thread (batch-loader.worker.ts): typed
// unions; errors cross as ErrorInfo (an out-of-range id as TOKEN_OUT_OF_RANGE with data.index and data.value).
import type { ErrorInfo } from '../../util/errors';

export interface BatchWorkerData {
  path: string;
  /** Context length. */
  T: number;
  vocab: number;
}

export interface LoadedBatch {
  inputs: Uint32Array;
  targets: Uint32Array;
  /** Rows sorted by token id, segment starts and ids (embedding backward), with `count` segments. */
  segments: { order: Uint32Array; segStart: Uint32Array; segId: Uint32Array; count: number };
}

export type BatchRequest = { type: 'load'; id: number; starts: Float64Array } | { type: 'close' };

export type BatchReply = { type: 'batch'; id: number; batch: LoadedBatch } | { type: 'error'; id: number; error: ErrorInfo };
