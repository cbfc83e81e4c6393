// Checkpoints written off the training thread: the trainer reads the parameters and AdamW moments back from the
// GPU (the only part that needs the device), hands the buffers to a worker thread and goes on training while the
// worker hashes and writes the file (checkpoint.ts: temp file, fsync, rename). One write at a time: the next
// write, idle() and close() wait for the one in flight. A failed write (a full disk: DISK_FULL) is raised by the
// next call of idle(), write() or throwIfFailed(), so the run fails with the checkpoint's own error. Where the
// worker module is missing (an odd build), writes happen in the calling thread, as before.
import { statSync } from 'node:fs';
import type { Worker } from 'node:worker_threads';
import { saveCheckpoint, type CheckpointState } from './checkpoint';
import type { WriterReply, WriterRequest } from './checkpoint-writer-protocol';
import type { ParamLayout } from '../model/parameters';
import { startWorker, workerAvailable } from '../../util/workers';
import { UserError } from '../../util/errors';

export class CheckpointWriter {
  private worker?: Worker;
  private nextId = 0;
  private readonly waiting = new Map<number, { resolve: (bytes: number) => void; reject: (e: Error) => void }>();
  private inFlight: Promise<void> = Promise.resolve();
  private failure?: Error;
  private closed = false;

  constructor(private readonly inWorker = workerAvailable('checkpoint-writer')) {}

  /**
   * Writes `state` to `path` and resolves with the file's size once it is on disk. The state's Float32Arrays are
   * transferred to the worker: the caller must not use them afterwards.
   */
  async write(path: string, layout: Pick<ParamLayout, 'slots'>, state: CheckpointState): Promise<number> {
    await this.idle();
    if (this.closed) throw new Error('the checkpoint writer is closed');
    if (!this.inWorker) {
      saveCheckpoint(path, layout, state);
      return statSync(path).size;
    }
    const worker = (this.worker ??= this.start());
    const id = this.nextId++;
    const written = new Promise<number>((resolve, reject) => this.waiting.set(id, { resolve, reject }));
    const buffers = [...new Set([state.params, state.m, state.v].filter((a): a is Float32Array => a !== undefined).map((a) => a.buffer as ArrayBuffer))];
    const req: WriterRequest = { type: 'write', id, path, slots: layout.slots, state };
    worker.postMessage(req, buffers);
    this.inFlight = written.then(() => undefined, (e: Error) => {
      this.failure ??= e;
    });
    return written;
  }

  /** Resolves when no write is in flight; throws the error of a write that failed. */
  async idle(): Promise<void> {
    await this.inFlight;
    this.throwIfFailed();
  }

  /** Throws the error of a background write that failed (the trainer calls it between steps). */
  throwIfFailed(): void {
    if (this.failure) throw this.failure;
  }

  /** Waits for the write in flight (its error is left to idle()), then stops the worker. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.inFlight;
    const w = this.worker;
    if (!w) return;
    const req: WriterRequest = { type: 'close' };
    w.postMessage(req);
    await w.terminate();
  }

  private start(): Worker {
    const w = startWorker('checkpoint-writer', {});
    w.on('message', (r: WriterReply) => {
      const p = this.waiting.get(r.id);
      if (!p) return;
      this.waiting.delete(r.id);
      if (r.type === 'written') p.resolve(r.bytes);
      else p.reject(new UserError(r.error.message, { code: r.error.code, data: r.error.data }));
    });
    const died = (why: string) => {
      const e = new UserError(`the checkpoint writer's worker thread ${why}; the checkpoint was not written (the previous ones are intact)`, { code: 'WORKER_DIED', data: { why } });
      for (const p of this.waiting.values()) p.reject(e);
      this.waiting.clear();
    };
    w.on('error', (e) => died(`failed: ${e.message}`));
    w.on('exit', (code) => {
      if (this.waiting.size) died(`exited (code ${code})`);
    });
    return w;
  }
}
