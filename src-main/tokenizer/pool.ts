// Runs a stream of chunks through worker threads with bounded memory: at most `inflight` chunks per worker are
// queued, results come back in input order.
import { Worker } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Chunk } from './chunks';
import type { WorkerInit, WorkerReply } from './worker';

const ENTRY = fileURLToPath(new URL('./worker-entry.mjs', import.meta.url));
const MODULE = new URL('./worker.ts', import.meta.url).href;
const WORKER_TS = fileURLToPath(MODULE);

let bundled: Promise<string | undefined> | undefined;

/**
 * The worker code as one plain JavaScript file, bundled with esbuild (which tsx depends on) into
 * node_modules/.cache/lmwb and reused while the sources are unchanged: a worker then starts in ~50 ms instead of ~250 ms through tsx.
 * Undefined when bundling is not possible; workers then load the TypeScript through tsx (worker-entry.mjs).
 */
function bundledWorker(): Promise<string | undefined> {
  if (process.env.LMWB_WORKER_TSX === '1') return Promise.resolve(undefined);
  bundled ??= (async () => {
    try {
      const dir = dirname(WORKER_TS);
      const stamp = readdirSync(dir)
        .filter((f) => f.endsWith('.ts'))
        .map((f) => { const st = statSync(join(dir, f)); return `${f}:${st.size}:${st.mtimeMs}`; })
        .join('|');
      const key = createHash('sha256').update(`${WORKER_TS}|${stamp}|${process.version}`).digest('hex').slice(0, 20);
      // Cached inside the project's node_modules (not a shared temp folder another user could write to).
      const cacheDir = join(dir, '..', '..', 'node_modules', '.cache', 'lmwb');
      mkdirSync(cacheDir, { recursive: true });
      const file = join(cacheDir, `tokenizer-worker-${key}.mjs`);
      if (existsSync(file)) return file;
      const esbuild = await import('esbuild');
      const r = await esbuild.build({ entryPoints: [WORKER_TS], bundle: true, format: 'esm', platform: 'node', target: 'node20', write: false, logLevel: 'silent' });
      const tmp = `${file}.${process.pid}.tmp`;
      writeFileSync(tmp, r.outputFiles[0].text);
      renameSync(tmp, file);
      return file;
    } catch {
      return undefined;
    }
  })();
  return bundled;
}

export function defaultWorkers(): number {
  return Math.max(1, availableParallelism());
}

/**
 * Whether worker threads can be started: false when neither the bundled worker nor the TypeScript sources are
 * there (e.g. inside a single-file bundle of the CLI); callers then do the work in the main thread.
 */
export async function workersAvailable(): Promise<boolean> {
  return (await bundledWorker()) !== undefined || (existsSync(ENTRY) && existsSync(WORKER_TS));
}

export class WorkerFailure extends Error {
  constructor(message: string, readonly invalidUtf8Offset?: number) {
    super(message);
  }
}

interface Slot {
  worker: Worker;
  inflight: number;
  waiters: Array<(r: WorkerReply) => void>;
}

export class ChunkPool {
  private readonly slots: Slot[] = [];
  private failure: WorkerFailure | undefined;
  private readonly ready: Promise<void>;
  private wake: (() => void) | undefined;
  private readonly results = new Map<number, WorkerReply>();

  /** Starts `workers` threads (use ChunkPool.create). */
  private constructor(init: WorkerInit, workers: number, script: string | undefined, private readonly inflight: number) {
    const readies: Array<Promise<void>> = [];
    for (let i = 0; i < workers; i++) {
      const worker = script ? new Worker(script, { workerData: { init } }) : new Worker(ENTRY, { workerData: { module: MODULE, init } });
      const slot: Slot = { worker, inflight: 0, waiters: [] };
      readies.push(new Promise<void>((resolve, reject) => {
        worker.on('message', (r: WorkerReply) => {
          if (r.type === 'ready') { resolve(); return; }
          if (r.type === 'error') { this.fail(new WorkerFailure(r.message, r.invalidUtf8Offset)); reject(this.failure); return; }
          if (r.type === 'done') { slot.inflight--; this.results.set(r.seq, r); }
          const w = slot.waiters.shift();
          if (w) w(r);
          this.wake?.();
        });
        worker.on('error', (err) => { this.fail(new WorkerFailure(`worker crashed: ${err.message}`)); reject(this.failure); });
      }));
      this.slots.push(slot);
    }
    this.ready = Promise.all(readies).then(() => undefined);
    this.ready.catch(() => {});
  }

  static async create(init: WorkerInit, workers: number, inflight = 2): Promise<ChunkPool> {
    return new ChunkPool(init, workers, await bundledWorker(), inflight);
  }

  private fail(f: WorkerFailure) {
    if (!this.failure) this.failure = f;
    this.wake?.();
  }

  private async waitForChange(): Promise<void> {
    await new Promise<void>((resolve) => { this.wake = resolve; });
    this.wake = undefined;
    if (this.failure) throw this.failure;
  }

  /**
   * Sends every chunk to a worker; onResult gets each 'done' reply in chunk order (seq 0, 1, 2, ...).
   */
  async run(chunks: AsyncIterable<Chunk>, onResult: (r: Extract<WorkerReply, { type: 'done' }>) => void | Promise<void>): Promise<void> {
    await this.ready;
    let seq = 0;
    let next = 0;
    const drain = async () => {
      while (this.results.has(next)) {
        const r = this.results.get(next) as Extract<WorkerReply, { type: 'done' }>;
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
      slot.worker.postMessage({ type: 'chunk', seq: seq++, offset: chunk.offset, data }, transferable ? [data.buffer as ArrayBuffer] : []);
      await drain();
    }
    while (next < seq) {
      if (this.failure) throw this.failure;
      if (!this.results.has(next)) await this.waitForChange();
      await drain();
    }
    if (this.failure) throw this.failure;
  }

  /** Asks each worker for its final message (count maps) and returns them. */
  async finish(): Promise<WorkerReply[]> {
    const replies = await Promise.all(this.slots.map((s) => new Promise<WorkerReply>((resolve) => {
      s.waiters.push(resolve);
      s.worker.postMessage({ type: 'finish' });
    })));
    if (this.failure) throw this.failure;
    return replies;
  }

  async close(): Promise<void> {
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }

  private pick(): Slot | undefined {
    let best: Slot | undefined;
    for (const s of this.slots) if (s.inflight < this.inflight && (best === undefined || s.inflight < best.inflight)) best = s;
    return best;
  }
}
