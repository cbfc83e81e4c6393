// Reads training batches from a uint16 token file in a background worker thread (batch-loader.worker.ts): the
// main thread sends the starting offsets of a step's windows (a pure function of seed and step), the worker reads
// just those windows, checks the ids, groups rows by token id and transfers the arrays back. A multi-GB token file
// never enters the JS heap; batches are prefetched a few steps ahead. If the worker errors or exits, every pending
// and later load rejects with UserError WORKER_DIED (never a hang).
import type { Worker } from 'node:worker_threads';
import { batchStarts } from './batch';
import { UserError } from '../../util/errors';
import { startWorker } from '../../util/workers';
import { outOfRangeError } from './token-file';
import type { BatchReply, BatchRequest, BatchWorkerData, LoadedBatch } from './batch-loader-protocol';

export type { LoadedBatch } from './batch-loader-protocol';

export interface BatchLoaderOptions {
  path: string;
  numTokens: number;
  batchSize: number;
  contextLength: number;
  vocabSize: number;
  seed: number;
  stream: number;
  prefetch?: number;
}

export class BatchLoader {
  private readonly worker: Worker;
  private nextId = 0;
  private readonly pending = new Map<number, { resolve: (b: LoadedBatch) => void; reject: (e: Error) => void }>();
  private readonly ahead = new Map<number, Promise<LoadedBatch>>();
  private dead: UserError | undefined;
  private closed = false;

  constructor(readonly o: BatchLoaderOptions) {
    const data: BatchWorkerData = { path: o.path, T: o.contextLength, vocab: o.vocabSize };
    this.worker = startWorker('batch-loader', data);
    this.worker.unref();
    this.worker.on('message', (r: BatchReply) => {
      const p = this.pending.get(r.id);
      if (!p) return;
      this.pending.delete(r.id);
      if (r.type === 'batch') { p.resolve(r.batch); return; }
      const e = r.error;
      if (e.code === 'TOKEN_OUT_OF_RANGE') p.reject(outOfRangeError(o.path, o.vocabSize, { index: Number(e.data.index), value: Number(e.data.value) }));
      else p.reject(new UserError(e.message, { code: e.code, data: e.data }));
    });
    this.worker.on('error', (e) => this.die(`crashed: ${e.message}`, { reason: e.message }));
    this.worker.on('exit', (exitCode) => { if (!this.closed) this.die(`stopped unexpectedly (exit code ${exitCode})`, { exitCode }); });
  }

  /** Marks the worker dead and rejects every pending load. */
  private die(why: string, data: Record<string, unknown>): void {
    this.dead ??= new UserError(`the batch loader's worker thread ${why}; the run cannot continue (restart it, resuming from the last checkpoint)`, {
      code: 'WORKER_DIED',
      data: { worker: 'batch-loader', path: this.o.path, ...data },
    });
    for (const p of this.pending.values()) p.reject(this.dead);
    this.pending.clear();
  }

  /** Starting offsets of step `step`'s windows. */
  starts(step: number): Float64Array {
    return batchStarts(this.o.seed, step, this.o.batchSize, this.o.numTokens, this.o.contextLength, this.o.stream);
  }

  /** Loads the windows starting at the given offsets. */
  load(starts: Float64Array): Promise<LoadedBatch> {
    if (this.dead) return Promise.reject(this.dead);
    if (this.closed) return Promise.reject(new UserError('the batch loader is closed', { code: 'INVALID_ARGUMENT', data: { path: this.o.path } }));
    const id = this.nextId++;
    const req: BatchRequest = { type: 'load', id, starts };
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage(req);
    });
  }

  /** The batch of training step `step` (0-based), prefetching the following ones. */
  async get(step: number): Promise<LoadedBatch> {
    const depth = this.o.prefetch ?? 4;
    for (let s = step; s <= step + depth; s++) {
      if (!this.ahead.has(s)) {
        const p = this.load(this.starts(s));
        p.catch(() => undefined); // observed when awaited
        this.ahead.set(s, p);
      }
    }
    const p = this.ahead.get(step)!;
    this.ahead.delete(step);
    for (const k of this.ahead.keys()) if (k < step) this.ahead.delete(k);
    return p;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const p of this.pending.values()) p.reject(new UserError('the batch loader was closed', { code: 'ABORTED', data: { path: this.o.path } }));
    this.pending.clear();
    if (!this.dead) {
      const req: BatchRequest = { type: 'close' };
      this.worker.postMessage(req);
    }
    await this.worker.terminate();
  }
}
