/**
 * The engine's one event style. Long operations (train, tokenize, encode, prepare, download, generate) take
 * `onEvent?: (e) => void` and an `AbortSignal`; events are plain JSON objects with a `type` discriminator, so the
 * same value can be printed by the CLI, written as one ndjson line by a child trainer, sent over Electron IPC or a
 * WebSocket, and rebuilt on the other side unchanged.
 */
import type { ErrorInfo } from '../util/errors';

/** Progress of a long operation: `done` of `total` (when known) in `unit`s. Emit at most a few per second. */
export interface ProgressEvent {
  type: 'progress';
  /** What is being done: 'tokenize', 'encode', 'count', 'merge', 'download', 'scan', … */
  task: string;
  done: number;
  total?: number;
  unit: 'bytes' | 'tokens' | 'steps' | 'merges' | 'files' | 'items';
  /** Free-form short detail ("train.bin", "chunk 3/8"). */
  detail?: string;
  /** Secondary counters a front end may show beside the bar (e.g. `{ tokens: 123456 }` while encoding). */
  extra?: Record<string, number>;
}

/** A step of a multi-step operation (dataset prepare: hash, tokenizer, encode) started, was reused, or finished. */
export interface PhaseEvent {
  type: 'phase';
  /** The step, e.g. 'hash train', 'tokenizer', 'encode valid', 'download'. */
  task: string;
  status: 'start' | 'reused' | 'done';
  /** Size of the work when it starts (what its progress events count towards). */
  total?: number;
  unit?: ProgressEvent['unit'];
  /** Short human detail ("10000 tokens in 3.1 s"); the figures behind it are in `data`. */
  detail?: string;
  data?: Record<string, unknown>;
}

/** The events of the tokenizer and dataset operations (train, encode, prepare, download). */
export type DataEvent = ProgressEvent | WarningEvent | PhaseEvent;

/** A notice the user should see but that does not stop the operation. */
export interface WarningEvent {
  type: 'warning';
  code: string;
  message: string;
  data?: Record<string, unknown>;
}

/** The terminal error of an operation, as it crosses a process. */
export interface ErrorEvent {
  type: 'error';
  error: ErrorInfo;
}

