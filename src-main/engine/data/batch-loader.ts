// Reads training batches from a uint16 token file in a background worker thread: the main thread sends the
// starting offsets of a step's windows (a pure function of seed and step), the worker reads just those windows
// with positioned reads, checks the ids, groups rows by token id for the embedding backward, and transfers the
// arrays back. A multi-GB token file never enters the JS heap; batches are prefetched a few steps ahead.
import { Worker } from 'node:worker_threads';
import { batchStarts } from './batch';
import { UserError } from '../../util/errors';
import { embeddingSegments } from '../kernels/embedding';

export interface LoadedBatch {
  inputs: Uint32Array;
  targets: Uint32Array;
  /** Rows sorted by token id, segment starts and ids (embedding backward), with `count` segments. */
  segments: { order: Uint32Array; segStart: Uint32Array; segId: Uint32Array; count: number };
}

interface Request { id: number; starts: Float64Array }
type Reply = { id: number; batch: LoadedBatch } | { id: number; error: string };

// The worker body: self-contained (it runs from source text, so it works the same under tsx, vitest and the
// bundled CLI). Keep it free of imports: it may only use node built-ins fetched inside.
function workerMain(): void {
  // process.getBuiltinModule, not require: bundlers rewrite require() calls, and this source runs unbundled.
  const { parentPort, workerData } = process.getBuiltinModule('node:worker_threads') as typeof import('node:worker_threads');
  const fs = process.getBuiltinModule('node:fs') as typeof import('node:fs');
  const { path, T, vocab } = workerData as { path: string; T: number; vocab: number };
  const fd = fs.openSync(path, 'r');
  const window = Buffer.alloc((T + 1) * 2);
  parentPort!.on('message', (msg: { id: number; starts: Float64Array } | 'close') => {
    if (msg === 'close') {
      fs.closeSync(fd);
      parentPort!.close();
      return;
    }
    try {
      const B = msg.starts.length;
      const inputs = new Uint32Array(B * T);
      const targets = new Uint32Array(B * T);
      for (let b = 0; b < B; b++) {
        const start = msg.starts[b];
        const got = fs.readSync(fd, window, 0, window.length, start * 2);
        if (got !== window.length) throw new Error(`short read at token ${start} of ${path}`);
        const ids = new Uint16Array(window.buffer, window.byteOffset, T + 1);
        for (let t = 0; t <= T; t++) {
          if (ids[t] >= vocab) throw new Error(`OOR ${start + t} ${ids[t]}`);
        }
        for (let t = 0; t < T; t++) {
          inputs[b * T + t] = ids[t];
          targets[b * T + t] = ids[t + 1];
        }
      }
      const segments = (globalThis as unknown as { segmentsOf: typeof embeddingSegments }).segmentsOf(inputs);
      const { order, segStart, segId } = segments;
      parentPort!.postMessage({ id: msg.id, batch: { inputs, targets, segments } }, [
        inputs.buffer, targets.buffer, order.buffer as ArrayBuffer, segStart.buffer as ArrayBuffer, segId.buffer as ArrayBuffer,
      ]);
    } catch (e) {
      parentPort!.postMessage({ id: msg.id, error: (e as Error).message });
    }
  });
}

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

  constructor(readonly o: BatchLoaderOptions) {
    // The worker runs from source text: embeddingSegments travels as a function expression under a fixed name.
    this.worker = new Worker(`globalThis.segmentsOf = ${embeddingSegments.toString()};\n(${workerMain.toString()})()`, {
      eval: true,
      workerData: { path: o.path, T: o.contextLength, vocab: o.vocabSize },
    });
    this.worker.unref();
    this.worker.on('message', (r: Reply) => {
      const p = this.pending.get(r.id);
      if (!p) return;
      this.pending.delete(r.id);
      if ('error' in r) {
        const m = /^OOR (\d+) (\d+)$/.exec(r.error);
        p.reject(
          m
            ? new UserError(`token file ${o.path} has id ${m[2]} at position ${m[1]}, but the model's vocab_size is ${o.vocabSize}; set model.vocab_size to at least ${Number(m[2]) + 1} or re-tokenize with the model's tokenizer`)
            : new Error(r.error),
        );
      } else p.resolve(r.batch);
    });
    this.worker.on('error', (e) => {
      for (const p of this.pending.values()) p.reject(e);
      this.pending.clear();
    });
  }

  /** Starting offsets of step `step`'s windows. */
  starts(step: number): Float64Array {
    return batchStarts(this.o.seed, step, this.o.batchSize, this.o.numTokens, this.o.contextLength, this.o.stream);
  }

  /** Loads the windows starting at the given offsets. */
  load(starts: Float64Array): Promise<LoadedBatch> {
    const id = this.nextId++;
    const req: Request = { id, starts };
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
    this.worker.postMessage('close');
    await this.worker.terminate();
  }
}
