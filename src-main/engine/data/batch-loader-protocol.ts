// The messages between the batch loader (batch-loader.ts) and its worker thread (batch-loader.worker.ts): typed
// unions; errors cross as ErrorInfo (an out-of-range id as TOKEN_OUT_OF_RANGE with data.index and data.value).
import type { ErrorInfo } from '../../util/errors';
import type { HostSegments } from '../kernels/embedding';

export interface BatchWorkerData {
  path: string;
  /** Context length. */
  T: number;
  vocab: number;
}

export interface LoadedBatch {
  inputs: Uint32Array;
  targets: Uint32Array;
  /** The rows grouped by token id for the embedding backward (kernels/embedding.ts). */
  segments: HostSegments;
}

export type BatchRequest = { type: 'load'; id: number; starts: Float64Array } | { type: 'close' };

export type BatchReply = { type: 'batch'; id: number; batch: LoadedBatch } | { type: 'error'; id: number; error: ErrorInfo };
