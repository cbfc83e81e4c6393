// Checkpoints written off the training thread: the trainer queues the readback of the parameters and AdamW moments
// right behind the step they belong to (the only part that needs the device) and goes on training; when the
// readback lands, its buffers go to a worker thread that hashes and writes the file (checkpoint.ts: temp file,
// fsync, rename). One write at a time: the next write, idle() and close() wait for the one in flight. A failed
// write (a full disk: DISK_FULL) is raised by the next call of idle(), write() or throwIfFailed(), so the run fails
// with the checkpoint's own error. Where the worker module is missing (an odd build), writes happen in the calling
// thread, as before.
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
   * Writes `state` to `path` once it is there (a promise: the trainer passes its GPU readback, which resolves while
   * later steps run) and after any earlier write; resolves with the file's size once it is on disk. The state's
   * Float32Arrays are transferred to the worker: the caller must not use them afterwards. `inline`: write in the
   * calling thread (a checkpoint the caller waits for gains nothing from the worker, and skips starting it).
   */
  write(path: string, layout: Pick<ParamLayout, 'slots'>, state: CheckpointState | Promise<CheckpointState>, o: { inline?: boolean } = {}): Promise<number> {
    if (this.closed) return Promise.reject(new Error('the checkpoint writer is closed'));
    const before = this.inFlight;
    const job = (async () => {
      await before;
      this.throwIfFailed();
      const s = await state;
      if (!this.inWorker || o.inline) {
        saveCheckpoint(path, layout, s);
        return statSync(path).size;
      }
      const worker = (this.worker ??= this.start());
      const id = this.nextId++;
      const written = new Promise<number>((resolve, reject) => this.waiting.set(id, { resolve, reject }));
      const buffers = [...new Set([s.params, s.m, s.v].filter((a): a is Float32Array => a !== undefined).map((a) => a.buffer as ArrayBuffer))];
      const req: WriterRequest = { type: 'write', id, path, slots: layout.slots, state: s };
      worker.postMessage(req, buffers);
      return written;
    })();
    this.inFlight = job.then(() => undefined, (e: Error) => {
      this.failure ??= e;
    });
    return job;
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
