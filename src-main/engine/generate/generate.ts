// Text generation: encodes the prompt, prefills the KV cache, then decodes token by token for several samples of
// the prompt at once, streaming serializable events (token id + text delta, UTF-8 characters split across tokens
// held back until complete) and stopping at <|endoftext|> or max new tokens. Greedy decoding chains steps on the
// GPU (the argmax feeds the next step; ids come back once per chain); sampling reads each step's logits back and
// draws on the CPU (sampler.ts). When the window is full, the last `slideKeep` tokens (default context_length:
// exactly what a full forward over the last context_length tokens gives) are re-encoded into a fresh cache.
import type { Gpu } from '../gpu/device';
import type { ModelConfig } from '../model/config';
import type { Tokenizer } from '../../tokenizer/tokenizer';
import type { WarningEvent } from '../events';
import { KvDecoder, CHAIN_SLOTS } from './decoder';
import { resolveDecodePrecision, type DecodePrecision } from './backend';
import { Sampler, checkSampling, type SamplingSettings, DEFAULT_SAMPLING } from './sampler';
import { UserError } from '../../util/errors';

export const END_OF_TEXT = '<|endoftext|>';

export type StopReason = 'eos' | 'max_tokens' | 'aborted';

export interface GenerateStartEvent {
  type: 'start';
  prompt_ids: number[];
  /** Prompt tokens dropped from the front because the prompt was longer than the context. */
  prompt_dropped: number;
  samples: number;
  precision: DecodePrecision;
}
export interface GenerateTokenEvent { type: 'token'; sample: number; id: number; /** Newly complete text (may be ''). */ text: string }
export interface GenerateDoneEvent { type: 'done'; sample: number; stop_reason: StopReason; ids: number[]; text: string; tokens_per_s: number }
export type GenerateEvent = GenerateStartEvent | GenerateTokenEvent | GenerateDoneEvent | WarningEvent;

export interface SampleResult {
  sample: number;
  prompt_ids: number[];
  /** The generated ids only (without the prompt and without the final <|endoftext|>). */
  ids: number[];
  text: string;
  stop_reason: StopReason;
  tokens_per_s: number;
}

export interface GenerateSettings extends SamplingSettings {
  maxNewTokens: number;
}

export const DEFAULT_GENERATE: GenerateSettings = { ...DEFAULT_SAMPLING, maxNewTokens: 256 };

export interface GenerateRunOptions {
  onEvent?: (e: GenerateEvent) => void;
  signal?: AbortSignal;
}

export interface GeneratorOptions {
  /** Samples decoded together (one batch). */
  numSamples?: number;
  precision?: 'auto' | DecodePrecision;
  /** Tokens kept when the window slides (1..context_length); default context_length (exact). */
  slideKeep?: number;
  /**
   * Where temperature > 0 draws happen: 'gpu' (default: chained steps like greedy, the uniforms from the same
   * seeded streams; tokens tied at a top-k/top-p cut are all kept) or 'cpu' (sampler.ts on logits read back
   * every step).
   */
  sampleOn?: 'gpu' | 'cpu';
}

/** Weights by CS336 tensor name. */
export type WeightSource = (name: string) => Float32Array;

export class Generator {
  readonly decoder: KvDecoder;
  readonly precision: DecodePrecision;
  readonly numSamples: number;
  private readonly slideKeep: number;
  private readonly sampleOn: 'gpu' | 'cpu';
  private readonly eot?: number;

  /** Without a tokenizer only generateIds works (ids in, ids out, no text): reference cases, benchmarks. */
  constructor(readonly gpu: Gpu, readonly cfg: ModelConfig, weights: WeightSource, readonly tokenizer?: Tokenizer, opts: GeneratorOptions = {}) {
    if (tokenizer && tokenizer.vocabSize > cfg.vocab_size) {
      throw new UserError(`the tokenizer has ${tokenizer.vocabSize} tokens but the model's vocab_size is ${cfg.vocab_size}; use the tokenizer the model was trained with`, { code: 'CHECKPOINT_MISMATCH', data: { tokenizer_vocab: tokenizer.vocabSize, model_vocab: cfg.vocab_size } });
    }
    this.numSamples = opts.numSamples ?? 1;
    if (!Number.isInteger(this.numSamples) || this.numSamples < 1) throw new UserError(`the number of samples must be an integer ≥ 1, got ${this.numSamples}`, { code: 'INVALID_ARGUMENT' });
    this.slideKeep = opts.slideKeep ?? cfg.context_length;
    this.sampleOn = opts.sampleOn ?? 'gpu';
    if (!Number.isInteger(this.slideKeep) || this.slideKeep < 1 || this.slideKeep > cfg.context_length) throw new UserError(`the window must keep 1..${cfg.context_length} tokens when it slides, got ${this.slideKeep}`, { code: 'INVALID_ARGUMENT' });
    this.precision = resolveDecodePrecision(gpu, opts.precision ?? 'auto');
    this.decoder = new KvDecoder(gpu, cfg, { batch: this.numSamples, precision: this.precision });
    this.decoder.setWeights(weights);
    const i = tokenizer ? tokenizer.specials.indexOf(END_OF_TEXT) : -1;
    this.eot = tokenizer && i >= 0 ? tokenizer.specialIds[i] : undefined;
  }

  /** The prompt as ids: its last context_length tokens, or <|endoftext|> when empty. */
  promptIds(prompt: string): { ids: number[]; dropped: number } {
    if (!this.tokenizer) throw new Error('this generator has no tokenizer: use generateIds');
    return this.fitPrompt(Array.from(this.tokenizer.encode(prompt)));
  }

  private fitPrompt(given: number[]): { ids: number[]; dropped: number } {
    let ids = given;
    if (ids.length === 0) {
      if (this.eot === undefined) throw new UserError('the prompt is empty and this tokenizer has no <|endoftext|> token to start from; give a prompt', { code: 'INVALID_ARGUMENT' });
      ids = [this.eot];
    }
    const T = this.cfg.context_length;
    const dropped = Math.max(0, ids.length - T);
    return { ids: ids.slice(dropped), dropped };
  }

  async generate(prompt: string, settings: Partial<GenerateSettings> = {}, run: GenerateRunOptions = {}): Promise<SampleResult[]> {
    return this.run(() => this.promptIds(prompt), settings, run);
  }

  /** As generate, from prompt token ids (ids ≥ the vocabulary are refused); text is '' without a tokenizer. */
  async generateIds(prompt: number[], settings: Partial<GenerateSettings> = {}, run: GenerateRunOptions = {}): Promise<SampleResult[]> {
    for (const id of prompt) {
      if (!Number.isInteger(id) || id < 0 || id >= this.cfg.vocab_size) throw new UserError(`prompt token id ${id} is outside the model's vocabulary (${this.cfg.vocab_size})`, { code: 'TOKEN_OUT_OF_RANGE' });
    }
    return this.run(() => this.fitPrompt([...prompt]), settings, run);
  }

  private async run(prompt: () => { ids: number[]; dropped: number }, settings: Partial<GenerateSettings>, run: GenerateRunOptions): Promise<SampleResult[]> {
    const s: GenerateSettings = { ...DEFAULT_GENERATE, ...settings };
    checkSampling(s);
    if (!Number.isInteger(s.maxNewTokens) || s.maxNewTokens < 1) throw new UserError(`max new tokens must be an integer ≥ 1, got ${s.maxNewTokens}`, { code: 'INVALID_ARGUMENT' });
    const emit = run.onEvent ?? (() => {});
    const { ids: promptIds, dropped } = prompt();
    if (dropped > 0) {
      emit({ type: 'warning', code: 'PROMPT_TRUNCATED', message: `the prompt has ${promptIds.length + dropped} tokens, more than the context length ${this.cfg.context_length}: generating from its last ${promptIds.length} tokens`, data: { dropped, kept: promptIds.length } });
    }
    emit({ type: 'start', prompt_ids: promptIds, prompt_dropped: dropped, samples: this.numSamples, precision: this.precision });
    return this.decode(promptIds, s, emit, run.signal);
  }

  private async decode(promptIds: number[], s: GenerateSettings, emit: (e: GenerateEvent) => void, signal?: AbortSignal): Promise<SampleResult[]> {
    const B = this.numSamples;
    const T = this.cfg.context_length;
    const dec = this.decoder;
    const greedy = s.temperature === 0;
    const onGpu = greedy || this.sampleOn === 'gpu';
    if (!greedy && onGpu) dec.setSampling(s.temperature, s.topK, s.topP);
    const samplers = Array.from({ length: B }, (_, b) => new Sampler(s, b));
    const hist: number[][] = Array.from({ length: B }, () => [...promptIds]);
    const out: number[][] = Array.from({ length: B }, () => []);
    const text: string[] = Array.from({ length: B }, () => '');
    const utf8 = Array.from({ length: B }, () => new TextDecoder('utf-8', { fatal: false, ignoreBOM: true }));
    const stop: Array<StopReason | undefined> = new Array<StopReason | undefined>(B).fill(undefined);
    const elapsed: number[] = new Array<number>(B).fill(0);
    const t0 = performance.now();
    let produced = 0;

    const finish = (b: number, reason: StopReason) => {
      if (stop[b]) return;
      stop[b] = reason;
      elapsed[b] = (performance.now() - t0) / 1000;
      const tail = utf8[b].decode();
      if (tail) {
        text[b] += tail;
        emit({ type: 'token', sample: b, id: -1, text: tail });
      }
    };
    const accept = (b: number, id: number) => {
      if (stop[b]) return;
      if (id === this.eot) {
        finish(b, 'eos');
        return;
      }
      out[b].push(id);
      const delta = this.tokenizer ? utf8[b].decode(this.tokenizer.decodeBytes([id]), { stream: true }) : '';
      text[b] += delta;
      emit({ type: 'token', sample: b, id, text: delta });
      if (out[b].length >= s.maxNewTokens) finish(b, 'max_tokens');
    };
    const window = (b: number, n: number) => hist[b].slice(hist[b].length - n);

    // First chunk: the prompt (the same for every sample).
    let feed: { n: number; ids: Uint32Array } = { n: promptIds.length, ids: new Uint32Array(B * promptIds.length) };
    for (let b = 0; b < B; b++) feed.ids.set(promptIds, b * promptIds.length);
    dec.reset();
    while (stop.some((x) => !x)) {
      if (signal?.aborted) {
        for (let b = 0; b < B; b++) finish(b, 'aborted');
        break;
      }
      if (dec.pos + feed.n > T) {
        // The window is full: re-encode the last slideKeep tokens into a fresh cache.
        const n = Math.min(this.slideKeep, hist[0].length);
        feed = { n, ids: new Uint32Array(B * n) };
        for (let b = 0; b < B; b++) feed.ids.set(window(b, n), b * n);
        dec.reset();
      }
      let next: Uint32Array;
      if (onGpu) {
        // The first chunk (host ids), then further steps chained on the GPU (each step's ids feed the next) while
        // the cache has room and tokens are still wanted; the ids come back once.
        const slots = Math.max(1, Math.min(CHAIN_SLOTS, 1 + T - (dec.pos + feed.n), s.maxNewTokens - produced));
        const mode = greedy ? 'greedy' : 'sample';
        if (!greedy) {
          const u = new Float32Array(slots * B);
          for (let k = 0; k < slots; k++) for (let b = 0; b < B; b++) u[k * B + b] = samplers[b].uniform();
          dec.setRandom(u);
        }
        dec.forward(feed.n, mode, feed.ids, 0);
        for (let k = 1; k < slots; k++) dec.forward(1, mode, undefined, k);
        const toks = await dec.readTokens(slots);
        for (let k = 0; k < slots; k++) {
          for (let b = 0; b < B; b++) {
            const id = toks[k * B + b];
            hist[b].push(id);
            accept(b, id);
          }
        }
        produced += slots;
        next = toks.slice((slots - 1) * B, slots * B);
      } else {
        dec.forward(feed.n, 'last', feed.ids);
        const logits = await dec.readLogits();
        const V = this.cfg.vocab_size;
        next = new Uint32Array(B);
        for (let b = 0; b < B; b++) {
          const id = stop[b] ? 0 : samplers[b].next(logits.subarray(b * V, (b + 1) * V));
          next[b] = id;
          hist[b].push(id);
          accept(b, id);
        }
        produced += 1;
      }
      // Samples already stopped keep decoding alongside (their ids are ignored); their histories stay valid ids.
      feed = { n: 1, ids: next };
    }
    await this.gpu.sync();
    return Array.from({ length: B }, (_, b) => {
      const r: SampleResult = {
        sample: b,
        prompt_ids: promptIds,
        ids: out[b],
        text: text[b],
        stop_reason: stop[b] ?? 'max_tokens',
        tokens_per_s: out[b].length / Math.max(elapsed[b], 1e-9),
      };
      emit({ type: 'done', sample: b, stop_reason: r.stop_reason, ids: r.ids, text: r.text, tokens_per_s: r.tokens_per_s });
      return r;
    });
  }

  destroy(): void {
    this.decoder.destroy();
  }
}
