// The messages between the tokenizer's worker threads (tokenizer.worker.ts) and the pool (pool.ts): typed unions;
// errors cross as ErrorInfo (an invalid UTF-8 input as code INVALID_UTF8 with data.offset).
import type { ErrorInfo } from '../util/errors';
import type { InvalidUtf8Mode } from './text-decode';
import type { PackedTokenizerData } from './tokenizer';

export type TokenizerWorkerInit =
  | { task: 'count'; specials: string[]; invalidUtf8: InvalidUtf8Mode }
  | { task: 'encode'; tokenizer: PackedTokenizerData; invalidUtf8: InvalidUtf8Mode; dtype: 'uint16' | 'uint32' };

export type TokenizerWorkerRequest = { type: 'chunk'; seq: number; offset: number; data: Uint8Array } | { type: 'finish' };

export type TokenizerWorkerReply =
  | { type: 'ready' }
  | { type: 'done'; seq: number; bytes: number; ids?: Uint16Array | Uint32Array }
  | { type: 'counts'; keys: string; lens: Uint32Array; counts: Float64Array }
  | { type: 'error'; error: ErrorInfo };
