// The generation worker's loop (run as `lmwb generate-worker`, supervised by the app's backend): holds one GPU
// device and a small LRU cache of loaded checkpoints, takes requests as JSON lines (serve-protocol.ts) and streams
// each generation's tokens back as JSON lines. Requests run concurrently (two panes of the playground decode side by
// side on the one device, each with its own Generator and KV cache); cancel aborts one at its next decoding step.
// Loading a checkpoint past the cache's capacity frees the least recently used one's GPU buffers; the `stats`
// request reports what is live (util/live-resources.ts) so a leak is visible from outside.
import { statSync } from 'node:fs';
import type { Gpu } from '../gpu/device';
import { errorInfo, UserError } from '../../util/errors';
import { liveCount } from '../../util/live-resources';
import type { Tokenizer } from '../../tokenizer/tokenizer';
import { Generator } from './generate';
import { loadGenerationModel, runTokenizer, type LoadedModel } from './load';
import { parseWorkerRequest, type WorkerEvent, type WorkerRequest } from './serve-protocol';

export interface ServeOptions {
  /** Checkpoints kept loaded (default 2: the playground's two panes). */
  capacity?: number;
  /** Writes one event (the caller adds the newline and flushes). */
  emit: (e: WorkerEvent) => void;
  /** Called once a `shutdown` request has cancelled and freed everything. */
  onShutdown?: () => void;
}

interface Entry {
  file: string;
  mtimeMs: number;
  model: LoadedModel;
  tokenizer: Tokenizer;
  tokenizerFrom: string;
  /** Generators not decoding now (a Generator's batch size is its number of samples). */
  idle: Generator[];
  busy: number;
  lastUsed: number;
}

/** One line, for an error that crosses to the UI. */
const oneLine = (s: string) => s.replace(/\s*\n\s*/g, '; ').trim();

export class GenerationServer {
  private readonly cache = new Map<string, Entry>();
  private readonly jobs = new Map<string, { abort: AbortController; done: Promise<void> }>();
  private readonly capacity: number;
  private readonly emit: (e: WorkerEvent) => void;
  private clock = 0;
  private closed = false;

  constructor(private readonly gpu: Gpu, private readonly opts: ServeOptions) {
    this.capacity = Math.max(1, opts.capacity ?? 2);
    this.emit = opts.emit;
  }

  /** Handles one request line (never throws: a bad line is an error event). */
  handleLine(line: string): void {
    if (!line.trim()) return;
    const r = parseWorkerRequest(line);
    if (!r.ok) {
      this.emit({ type: 'error', id: null, error: r.error });
      return;
    }
    this.handle(r.request);
  }

  handle(req: WorkerRequest): void {
    switch (req.type) {
      case 'generate':
        if (this.closed) {
          this.emit({ type: 'error', id: req.id, error: { code: 'ABORTED', message: 'the generation worker is shutting down' } });
          return;
        }
        if (this.jobs.has(req.id)) {
          this.emit({ type: 'error', id: req.id, error: { code: 'INVALID_ARGUMENT', message: `a generation with id ${req.id} is already running` } });
          return;
        }
        this.start(req);
        return;
      case 'cancel':
        this.jobs.get(req.id)?.abort.abort();
        return;
      case 'stats':
        this.emit({
          type: 'stats',
          id: req.id,
          loaded: [...this.cache.values()].map((e) => ({ checkpoint: e.file, numSamples: e.idle.map((g) => g.numSamples) })),
          gpuBuffers: liveCount('gpu-buffer'),
          gpuDevices: liveCount('gpu-device'),
        });
        return;
      case 'shutdown':
        void this.close().then(() => this.opts.onShutdown?.());
        return;
    }
  }

  private start(req: Extract<WorkerRequest, { type: 'generate' }>): void {
    const abort = new AbortController();
    const done = this.run(req, abort.signal).finally(() => this.jobs.delete(req.id));
    this.jobs.set(req.id, { abort, done });
  }

  private async run(req: Extract<WorkerRequest, { type: 'generate' }>, signal: AbortSignal): Promise<void> {
    const id = req.id;
    let entry: Entry | undefined;
    let gen: Generator | undefined;
    try {
      const got = this.acquire(req.checkpoint, req.numSamples);
      entry = got.entry;
      gen = got.gen;
      this.emit({
        type: 'loaded', id, checkpoint: entry.file, step: entry.model.step, runDir: entry.model.runDir ?? null,
        tokenizer: entry.tokenizerFrom, precision: gen.precision, cached: got.cached,
      });
      const t0 = performance.now();
      const results = await gen.generate(req.prompt, req.settings, {
        signal,
        onEvent: (e) => {
          if (e.type === 'token') this.emit({ type: 'token', id, sample: e.sample, token: e.id, text: e.text });
          else if (e.type === 'start') this.emit({ type: 'start', id, prompt_ids: e.prompt_ids, prompt_dropped: e.prompt_dropped, samples: e.samples });
          else if (e.type === 'warning') this.emit({ type: 'warning', id, code: e.code, message: e.message });
        },
      });
      this.emit({
        type: 'done', id, elapsed_s: (performance.now() - t0) / 1000,
        samples: results.map((r) => ({ sample: r.sample, prompt_ids: r.prompt_ids, ids: r.ids, text: r.text, stop_reason: r.stop_reason, tokens_per_s: Number.isFinite(r.tokens_per_s) ? r.tokens_per_s : 0 })),
      });
    } catch (e) {
      const info = errorInfo(e);
      this.emit({ type: 'error', id, error: { code: info.data.internal ? 'INTERNAL' : info.code, message: oneLine(info.message) } });
    } finally {
      if (entry && gen) this.release(entry, gen);
    }
  }

  /** The cached model of a checkpoint (reloaded when the file changed) and an idle Generator for the batch size. */
  private acquire(file: string, numSamples: number): { entry: Entry; gen: Generator; cached: boolean } {
    const mtimeMs = statSafe(file);
    let entry = this.cache.get(file);
    let cached = true;
    if (entry && entry.mtimeMs !== mtimeMs) {
      // The file was replaced (a run resumed and rewrote it): drop the old copy once idle.
      for (const g of entry.idle) g.destroy();
      entry.idle = [];
      if (entry.busy === 0) this.cache.delete(file);
      entry = undefined;
    }
    if (!entry) {
      cached = false;
      const model = loadGenerationModel(file);
      if (!model.runDir) throw new UserError(`${file} is not a checkpoint inside a run folder (runs/<id>/checkpoints/), so its tokenizer is unknown`, { code: 'FILE_INVALID', data: { file } });
      const tok = runTokenizer(model.runDir);
      entry = { file, mtimeMs, model, tokenizer: tok.tokenizer, tokenizerFrom: tok.from, idle: [], busy: 0, lastUsed: 0 };
      this.cache.set(file, entry);
      this.trim(entry);
    }
    entry.lastUsed = ++this.clock;
    let gen: Generator | undefined;
    const i = entry.idle.findIndex((g) => g.numSamples === numSamples);
    if (i >= 0) gen = entry.idle.splice(i, 1)[0];
    else {
      cached = false;
      gen = new Generator(this.gpu, entry.model.cfg, entry.model.weights, entry.tokenizer, { numSamples });
    }
    entry.busy++;
    return { entry, gen, cached };
  }

  private release(entry: Entry, gen: Generator): void {
    entry.busy--;
    if (this.closed || this.cache.get(entry.file) !== entry) gen.destroy();
    else {
      // Keep one idle Generator per checkpoint (the latest batch size); older ones free their buffers.
      for (const g of entry.idle) g.destroy();
      entry.idle = [gen];
    }
    this.trim(entry);
  }

  /** Evicts the least recently used idle checkpoints beyond the capacity (never `keep`, never a busy one). */
  private trim(keep: Entry): void {
    while (this.cache.size > this.capacity) {
      const victim = [...this.cache.values()].filter((e) => e !== keep && e.busy === 0).sort((a, b) => a.lastUsed - b.lastUsed)[0];
      if (!victim) return;
      for (const g of victim.idle) g.destroy();
      victim.idle = [];
      this.cache.delete(victim.file);
    }
  }

  /** Cancels every generation, waits for them, frees every Generator. */
  async close(): Promise<void> {
    this.closed = true;
    for (const j of this.jobs.values()) j.abort.abort();
    await Promise.all([...this.jobs.values()].map((j) => j.done));
    for (const e of this.cache.values()) for (const g of e.idle) g.destroy();
    this.cache.clear();
  }
}

function statSafe(file: string): number {
  try {
    return statSync(file).mtimeMs;
  } catch {
    return -1; // loadGenerationModel names the missing file
  }
}
