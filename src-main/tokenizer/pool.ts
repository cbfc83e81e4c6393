// Runs a stream of chunks through the tokenizer's worker threads (tokenizer.worker.ts, started by util/workers.ts)
// with bounded memory: at most `inflight` chunks per worker are queued, results come back in input order. A worker
// that reports an error, crashes or exits fails the whole run with a UserError (WORKER_DIED for a dead worker) —
// never a hang; an AbortSignal fails it with AbortedError. close() terminates every worker.
import type { Worker } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import { AbortedError, UserError } from '../util/errors';
import { startWorker, workerAvailable } from '../util/workers';
import type { Chunk } from './chunks';
import type { TokenizerWorkerInit, TokenizerWorkerReply, TokenizerWorkerRequest } from './worker-protocol';

type DoneReply = Extract<TokenizerWorkerReply, { type: 'done' }>;

export function defaultWorkers(): number {
  return Math.max(1, availableParallelism());
}

/** Whether worker threads can be started (their built module or their source is there). */
export function workersAvailable(): boolean {
  return workerAvailable('tokenizer');
}

interface Slot {
  worker: Worker;
  inflight: number;
  waiters: Array<{ resolve: (r: TokenizerWorkerReply) => void; reject: (e: Error) => void }>;
}

export class ChunkPool {
  private readonly slots: Slot[] = [];
  private failure: Error | undefined;
  private readonly ready: Promise<void>;
  private wake: (() => void) | undefined;
  private readonly results = new Map<number, DoneReply>();
  private closing = false;

  /** Starts `workers` threads. */
  constructor(init: TokenizerWorkerInit, workers: number, private readonly inflight = 2) {
    const readies: Array<Promise<void>> = [];
    for (let i = 0; i < workers; i++) {
      const worker = startWorker('tokenizer', { init });
      const slot: Slot = { worker, inflight: 0, waiters: [] };
      this.slots.push(slot);
      readies.push(new Promise<void>((resolve, reject) => {
        worker.on('message', (r: TokenizerWorkerReply) => {
          if (r.type === 'ready') { resolve(); return; }
          if (r.type === 'error') {
            this.fail(new UserError(r.error.message, { code: r.error.code, data: r.error.data }));
            reject(this.failure);
            return;
          }
          if (r.type === 'done') { slot.inflight--; this.results.set(r.seq, r); }
          slot.waiters.shift()?.resolve(r);
          this.wake?.();
        });
        worker.on('error', (err) => {
          this.fail(new UserError(`a tokenizer worker thread crashed: ${err.message}`, { code: 'WORKER_DIED', data: { worker: 'tokenizer', reason: err.message } }));
          reject(this.failure);
        });
        worker.on('exit', (exitCode) => {
          if (this.closing) return;
          this.fail(new UserError(`a tokenizer worker thread stopped unexpectedly (exit code ${exitCode}); nothing was written`, { code: 'WORKER_DIED', data: { worker: 'tokenizer', exitCode } }));
          reject(this.failure);
        });
      }));
    }
    this.ready = Promise.all(readies).then(() => undefined);
    this.ready.catch(() => {});
  }

  /** The live worker threads (for tests). */
  get workers(): readonly Worker[] {
    return this.slots.map((s) => s.worker);
  }

  /** Fails the run (first failure wins): wakes the producer and rejects every pending request. */
  fail(f: Error): void {
    if (!this.failure) this.failure = f;
    for (const s of this.slots) for (const w of s.waiters.splice(0)) w.reject(this.failure);
    this.wake?.();
  }

  private async waitForChange(): Promise<void> {
    if (this.failure) throw this.failure;
    await new Promise<void>((resolve) => { this.wake = resolve; });
    this.wake = undefined;
    if (this.failure) throw this.failure;
  }

  /**
   * Sends every chunk to a worker; onResult gets each 'done' reply in chunk order (seq 0, 1, 2, ...). Rejects with
   * AbortedError(`what`) as soon as `signal` fires.
   */
  async run(chunks: AsyncIterable<Chunk>, onResult: (r: DoneReply) => void | Promise<void>, signal?: AbortSignal, what = 'operation'): Promise<void> {
    const onAbort = () => this.fail(new AbortedError(what));
    if (signal?.aborted) onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      await Promise.race([this.ready, new Promise<void>((_, reject) => { if (this.failure) reject(this.failure); else this.wake = () => { if (this.failure) reject(this.failure); }; })]);
      this.wake = undefined;
      if (this.failure) throw this.failure;
      let seq = 0;
      let next = 0;
      const drain = async () => {
        while (this.results.has(next)) {
          const r = this.results.get(next) as DoneReply;
          this.results.delete(next);
          next++;
          await onResult(r);
        }
      };
      for await (const chunk of chunks) {
        if (this.failure) throw this.failure;
        let slot = this.pick();
        while (slot === undefined || this.results.size > this.slots.length * this.inflight * 2) {
          await this.waitForChange();
          await drain();
          slot = this.pick();
        }
        slot.inflight++;
        const data = new Uint8Array(chunk.data.buffer, chunk.data.byteOffset, chunk.data.byteLength);
        const transferable = chunk.data.byteOffset === 0 && chunk.data.byteLength === chunk.data.buffer.byteLength;
        const req: TokenizerWorkerRequest = { type: 'chunk', seq: seq++, offset: chunk.offset, data };
        slot.worker.postMessage(req, transferable ? [data.buffer as ArrayBuffer] : []);
        await drain();
      }
      while (next < seq) {
        if (this.failure) throw this.failure;
        if (!this.results.has(next)) await this.waitForChange();
        await drain();
      }
      if (this.failure) throw this.failure;
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  /** Asks each worker for its final message (count maps) and returns them. */
  async finish(): Promise<TokenizerWorkerReply[]> {
    if (this.failure) throw this.failure;
    const replies = await Promise.all(this.slots.map((s) => new Promise<TokenizerWorkerReply>((resolve, reject) => {
      s.waiters.push({ resolve, reject });
      const req: TokenizerWorkerRequest = { type: 'finish' };
      s.worker.postMessage(req);
    })));
    if (this.failure) throw this.failure;
    return replies;
  }

  /** Terminates every worker (always call it, in a finally). */
  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }

  private pick(): Slot | undefined {
    let best: Slot | undefined;
    for (const s of this.slots) if (s.inflight < this.inflight && (best === undefined || s.inflight < best.inflight)) best = s;
    return best;
  }
}
