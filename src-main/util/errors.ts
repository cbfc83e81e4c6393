/**
 * Errors the engine and its front ends raise. Every error that can reach a user carries a stable `code` (for
 * programs: the queue, the app, tests) and `data` (the figures behind it, JSON-serializable), plus a message: one
 * plain sentence that names the problem and what to do, in terms of the config or the input (never of a CLI flag —
 * front ends add their own hints). Only front ends pick exit codes (`cli/exit-codes.ts`) and print.
 */
export type ErrorCode =
  | 'USER_ERROR' // generic: bad input or environment, no more specific code yet
  | 'CONFIG_INVALID'
  | 'FILE_NOT_FOUND'
  | 'FILE_INVALID'
  | 'FILE_EXISTS'
  | 'FILE_NOT_WRITABLE' // permission denied or read-only file system
  | 'INVALID_UTF8' // a text input is not valid UTF-8 (data: path, offset)
  | 'DISK_FULL'
  | 'NO_GPU_DRIVER'
  | 'GPU_UNSUPPORTED'
  | 'GPU_OUT_OF_MEMORY'
  | 'GPU_LOST'
  | 'BATCH_TOO_LARGE'
  | 'TOKEN_OUT_OF_RANGE'
  | 'RESUME_MISMATCH'
  | 'NOTHING_TO_RESUME'
  | 'CHECKPOINT_CORRUPT'
  | 'CHECKPOINT_MISMATCH'
  | 'DIVERGED'
  | 'WORKER_DIED'
  | 'ABORTED'
  | 'NETWORK'
  | 'RUN_NOT_FOUND'
  | 'QUEUE_CONFLICT'
  | 'INVALID_ARGUMENT';

/** The JSON form of an error, for events that cross a process (ndjson, IPC, WebSocket). */
export interface ErrorInfo {
  code: ErrorCode;
  message: string;
  data: Record<string, unknown>;
}

export interface UserErrorOptions {
  code?: ErrorCode;
  data?: Record<string, unknown>;
  cause?: unknown;
}

/**
 * An error caused by the user's input or environment (bad config, missing file, no GPU driver, out of memory).
 * Front ends print its message as one clear line, without a stack trace.
 */
export class UserError extends Error {
  readonly code: ErrorCode;
  readonly data: Record<string, unknown>;
  constructor(message: string, opts: UserErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'UserError';
    this.code = opts.code ?? 'USER_ERROR';
    this.data = opts.data ?? {};
  }

  toJSON(): ErrorInfo {
    return { code: this.code, message: this.message, data: this.data };
  }
}

/** Thrown by long operations whose AbortSignal fired: they stop promptly and leave no half-written file. */
export class AbortedError extends UserError {
  constructor(what = 'operation') {
    super(`${what} was cancelled`, { code: 'ABORTED', data: { what } });
    this.name = 'AbortedError';
  }
}

/** Throws AbortedError if the signal has fired (call at safe points of a long loop). */
export function throwIfAborted(signal: AbortSignal | undefined, what?: string): void {
  if (signal?.aborted) throw new AbortedError(what);
}

/** Any thrown value as ErrorInfo (unknown errors get code INTERNAL-like USER_ERROR-free wording). */
export function errorInfo(e: unknown): ErrorInfo {
  if (e instanceof UserError) return e.toJSON();
  const err = e instanceof Error ? e : new Error(String(e));
  return { code: 'USER_ERROR', message: err.message, data: { internal: true, name: err.name, stack: err.stack ?? '' } };
}
