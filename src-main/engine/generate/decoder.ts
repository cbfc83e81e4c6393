// The transformer LM for generation: a KV cache per layer, a batched prefill of n tokens per sequence, then one
// token per step. Each chunk shape (n, logits mode) is recorded once as a Program and replayed; the position lives
// in a uniform written before each submit. Weights sit in a decode layout of their own (q, k and v fused into one
// [3·d_model, d_model] projection) with an f16 copy in mixed precision; the residual stream is updated in place
// through the linear op's accumulate flag. All B sequences share one position (same-length prompts).
import os from 'node:os';
import type { Gpu } from '../gpu/device';
import { Program } from '../gpu/program';
import { createTensor, upload, type Tensor, alignUp } from '../gpu/tensor';
import { type ModelConfig, headDim } from '../model/config';
import { parameterSpecs, SLOT_ALIGN_FLOATS } from '../model/parameters';
import { linearForward, type LinearShape } from '../kernels/linear';
import { rmsnormForward } from '../kernels/rmsnorm';
import { embeddingForward } from '../kernels/embedding';
import { ropeTables } from '../kernels/rope';
import { swigluForward, siluForward } from '../kernels/ffn-activation';
import { castF16 } from '../kernels/cast';
import { ropeAppend, attentionDecode, argmaxRows, sampleRows, samplingUniform, writeSampling, decodeStepUniform, writeDecodeStep, type DecodeShape } from '../kernels/attention-decode';
import { decodeKernels, type DecodePrecision } from './backend';
import type { KernelChoice } from '../kernels/choice';
import { UserError } from '../../util/errors';

/**
 * What a chunk leaves behind: the last row's logits per sequence, every row's logits (tests), greedy ids, or ids
 * drawn on the GPU (setSampling, setRandom).
 */
export type LogitsMode = 'last' | 'all' | 'greedy' | 'sample';

interface Slot { name: string; shape: number[]; offset: number; numel: number }

/** The decode layout: the CS336 tensors, with layers.N.attn.{q,k,v}_proj fused into layers.N.attn.qkv. */
export function decodeSlots(cfg: ModelConfig): { slots: Map<string, Slot>; totalFloats: number } {
  const slots = new Map<string, Slot>();
  let offset = 0;
  const add = (name: string, shape: number[]) => {
    const numel = shape.reduce((a, b) => a * b, 1);
    slots.set(name, { name, shape, offset, numel });
    offset += alignUp(numel, SLOT_ALIGN_FLOATS);
  };
  for (const s of parameterSpecs(cfg)) {
    const m = /^(layers\.\d+\.attn\.)(q|k|v)_proj\.weight$/.exec(s.name);
    if (!m) add(s.name, s.shape);
    else if (m[2] === 'q') add(`${m[1]}qkv`, [3 * cfg.d_model, cfg.d_model]);
  }
  return { slots, totalFloats: offset };
}

/** Chained greedy steps the GPU can run before the host reads their ids back. */
export const CHAIN_SLOTS = 64;

export interface DecoderOptions {
  /** Sequences decoded together (samples of one prompt). */
  batch: number;
  precision?: DecodePrecision;
}

export class KvDecoder {
  readonly B: number;
  readonly T: number;
  readonly precision: DecodePrecision;
  /** Positions filled in the cache (the same for every sequence). */
  pos = 0;
  private readonly layout: ReturnType<typeof decodeSlots>;
  private readonly weights: Tensor;
  private readonly weights16?: Tensor;
  private readonly bufs = new Map<string, Tensor>();
  private readonly caches: Array<{ k: Tensor; v: Tensor }> = [];
  private readonly step: GPUBuffer;
  private readonly sampling: GPUBuffer;
  private readonly programs = new Map<string, Program>();
  /** Every program recorded (their uniforms and scratch are released in destroy()). */
  private readonly owned: Program[] = [];
  /** The kernels every program of this decoder records with (backend.ts). */
  readonly kernels: KernelChoice;
  private logitsAll?: Tensor;
  private readonly staging: { logits: GPUBuffer; tokens: GPUBuffer };
  readonly bytesAllocated: number;

  constructor(readonly gpu: Gpu, readonly cfg: ModelConfig, opts: DecoderOptions) {
    const device = gpu.device;
    const c = cfg;
    this.B = opts.batch;
    this.T = c.context_length;
    this.precision = opts.precision ?? 'f32';
    this.kernels = decodeKernels(gpu, this.precision);
    if (!Number.isInteger(this.B) || this.B < 1) throw new UserError(`the number of samples must be a positive integer, got ${this.B}`, { code: 'INVALID_ARGUMENT' });
    this.layout = decodeSlots(c);
    const R = this.B * this.T;
    const d = c.d_model;
    const plan: Array<[string, number[], 'f32' | 'u32']> = [
      ['ids', [R], 'u32'], ['x', [R, d], 'f32'], ['x2', [R, d], 'f32'], ['h', [R, d], 'f32'], ['r', [R], 'f32'],
      ['qkv', [R, 3 * d], 'f32'], ['o', [R, d], 'f32'], ['a', [R, c.d_ff], 'f32'], ['b', [R, c.d_ff], 'f32'], ['g', [R, c.d_ff], 'f32'],
      ['last', [this.B, d], 'f32'], ['logits', [this.B, c.vocab_size], 'f32'], ['tokens', [CHAIN_SLOTS * this.B], 'u32'],
      ['rand', [CHAIN_SLOTS * this.B], 'f32'], ['weights_scratch', [this.B, c.vocab_size], 'f32'],
    ];
    const cacheBytes = 2 * c.num_layers * this.B * this.T * d * 4;
    const weightBytes = this.layout.totalFloats * (this.precision === 'mixed' ? 6 : 4);
    const actBytes = plan.reduce((s, [, shape]) => s + shape.reduce((a, b) => a * b, 1) * 4, 0);
    this.bytesAllocated = cacheBytes + weightBytes + actBytes;
    const maxBinding = device.limits.maxStorageBufferBindingSize;
    const big = plan.find(([, shape]) => shape.reduce((a, b) => a * b, 1) * 4 > maxBinding);
    if (big || this.B * this.T * d * 4 > maxBinding) {
      throw new UserError(`${this.B} samples at context length ${this.T} need buffers above this device's ${Math.round(maxBinding / 2 ** 20)} MiB binding limit; generate fewer samples at once`, { code: 'BATCH_TOO_LARGE', data: { batch: this.B } });
    }
    if (this.layout.totalFloats * 4 > device.limits.maxBufferSize) {
      throw new UserError(`the model's weights need ${Math.round((this.layout.totalFloats * 4) / 2 ** 20)} MiB in one buffer, above this device's maxBufferSize; use a smaller model`, { code: 'GPU_OUT_OF_MEMORY' });
    }
    if (gpu.info.isSoftware && this.bytesAllocated > os.freemem() * 0.9) {
      // A CPU adapter allocates from system memory: compare with what is free before allocating.
      throw new UserError(`generating ${this.B} samples needs ${Math.round(this.bytesAllocated / 2 ** 20)} MiB (KV cache ${Math.round(cacheBytes / 2 ** 20)} MiB) and this CPU device has ${Math.round(os.freemem() / 2 ** 20)} MiB free; generate fewer samples at once`, { code: 'BATCH_TOO_LARGE', data: { batch: this.B, bytes: this.bytesAllocated } });
    }
    this.weights = createTensor(device, [this.layout.totalFloats], 'decode weights');
    if (this.precision === 'mixed') this.weights16 = createTensor(device, [this.layout.totalFloats], 'decode weights (f16)', 'f16');
    for (const [name, shape, dtype] of plan) this.bufs.set(name, createTensor(device, shape, `decode ${name}`, dtype));
    for (let l = 0; l < c.num_layers; l++) {
      this.caches.push({ k: createTensor(device, [this.B, this.T, d], `cache k ${l}`), v: createTensor(device, [this.B, this.T, d], `cache v ${l}`) });
    }
    const dk = headDim(c);
    if (c.pos === 'rope') {
      const tab = ropeTables(this.T, dk, c.rope_theta);
      this.bufs.set('cos', createTensor(device, [tab.cos.length], 'rope cos'));
      this.bufs.set('sin', createTensor(device, [tab.sin.length], 'rope sin'));
      upload(device, this.t('cos'), tab.cos);
      upload(device, this.t('sin'), tab.sin);
    } else {
      this.bufs.set('cos', createTensor(device, [4], 'rope cos (unused)'));
      this.bufs.set('sin', createTensor(device, [4], 'rope sin (unused)'));
    }
    this.step = decodeStepUniform(device);
    this.sampling = samplingUniform(device);
    this.staging = {
      logits: device.createBuffer({ size: alignUp(this.B * c.vocab_size * 4, 16), usage: 0x01 | 0x08, label: 'logits readback' }),
      tokens: device.createBuffer({ size: alignUp(CHAIN_SLOTS * this.B * 4, 16), usage: 0x01 | 0x08, label: 'tokens readback' }),
    };
  }

  private t(name: string): Tensor {
    const x = this.bufs.get(name);
    if (!x) throw new Error(`no decode buffer ${name}`);
    return x;
  }

  /** The first `rows` rows of a buffer, as a tensor of that shape (bindings cover only what a chunk uses). */
  private rows(name: string, rows: number): Tensor {
    const x = this.t(name);
    return { ...x, shape: [rows, ...x.shape.slice(1)] };
  }

  private slot(name: string): Slot {
    const s = this.layout.slots.get(name);
    if (!s) throw new Error(`no weight ${name}`);
    return s;
  }

  /** A weight in f32 (norm gains, the embedding table). */
  private w(name: string): Tensor {
    const s = this.slot(name);
    return { buffer: this.weights.buffer, byteOffset: s.offset * 4, shape: s.shape, dtype: 'f32', label: name };
  }

  /** A GEMM weight: the f16 copy in mixed precision. */
  private wm(name: string): Tensor {
    if (!this.weights16) return this.w(name);
    const s = this.slot(name);
    return { buffer: this.weights16.buffer, byteOffset: s.offset * 2, shape: s.shape, dtype: 'f16', label: `${name} (f16)` };
  }

  /**
   * Loads the weights by CS336 name (`get` returns the tensor's values, row-major). Shapes are the caller's to
   * check (load.ts does, tensor by tensor).
   */
  setWeights(get: (name: string) => Float32Array): void {
    const c = this.cfg;
    const flat = new Float32Array(this.layout.totalFloats);
    for (const s of parameterSpecs(c)) {
      const m = /^(layers\.\d+\.attn\.)(q|k|v)_proj\.weight$/.exec(s.name);
      const values = get(s.name);
      const n = s.shape.reduce((a, b) => a * b, 1);
      if (values.length !== n) throw new Error(`${s.name}: ${values.length} values for shape [${s.shape}]`);
      if (m) flat.set(values, this.slot(`${m[1]}qkv`).offset + 'qkv'.indexOf(m[2]) * n);
      else flat.set(values, this.slot(s.name).offset);
    }
    upload(this.gpu.device, this.weights, flat);
    if (this.weights16) {
      const p = new Program(this.gpu.device, this.kernels);
      const maxFloats = Math.floor(this.gpu.device.limits.maxStorageBufferBindingSize / 4 / SLOT_ALIGN_FLOATS) * SLOT_ALIGN_FLOATS;
      for (let start = 0; start < this.layout.totalFloats; start += maxFloats) {
        const n = Math.min(maxFloats, this.layout.totalFloats - start);
        castF16(p,
          { buffer: this.weights.buffer, byteOffset: start * 4, shape: [n], dtype: 'f32', label: 'weights' },
          { buffer: this.weights16.buffer, byteOffset: start * 2, shape: [n], dtype: 'f16', label: 'weights (f16)' });
      }
      p.submit();
      this.owned.push(p);
    }
  }

  private program(n: number, mode: LogitsMode): Program {
    const key = `${n}:${mode}`;
    let p = this.programs.get(key);
    if (!p) {
      p = this.record(n, mode);
      this.programs.set(key, p);
    }
    return p;
  }

  private record(n: number, mode: LogitsMode): Program {
    const c = this.cfg;
    const d = c.d_model;
    const B = this.B;
    const R = B * n;
    const p = new Program(this.gpu.device, this.kernels);
    this.owned.push(p);
    const lin = (rows: number, inF: number, outF: number): LinearShape => ({ rows, inFeatures: inF, outFeatures: outF });
    const norm = { rows: R, D: d, eps: c.rmsnorm_eps };
    const shape: DecodeShape = { B, n, H: c.num_heads, dk: headDim(c), Tmax: this.T, rope: c.pos === 'rope' };
    const [h, r, qkv, o, a, b, g] = ['h', 'r', 'qkv', 'o', 'a', 'b', 'g'].map((k) => this.rows(k, R));
    let cur = this.rows('x', R);
    let alt = this.rows('x2', R);
    embeddingForward(p, { rows: R, D: d, vocab: c.vocab_size }, this.rows('ids', R), this.w('token_embeddings.weight'), cur);
    for (let l = 0; l < c.num_layers; l++) {
      const L = `layers.${l}.`;
      let ain = cur;
      if (c.norm === 'pre') {
        rmsnormForward(p, norm, cur, this.w(`${L}ln1.weight`), h, r);
        ain = h;
      }
      linearForward(p, lin(R, d, 3 * d), ain, this.wm(`${L}attn.qkv`), qkv, false, 'qkv_proj');
      ropeAppend(p, shape, this.step, qkv, this.caches[l].k, this.caches[l].v, this.t('cos'), this.t('sin'));
      attentionDecode(p, shape, this.step, qkv, this.caches[l].k, this.caches[l].v, o);
      linearForward(p, lin(R, d, d), o, this.wm(`${L}attn.output_proj.weight`), cur, true, 'output_proj (+ residual)');
      if (c.norm === 'post') {
        rmsnormForward(p, norm, cur, this.w(`${L}ln1.weight`), alt, r);
        [cur, alt] = [alt, cur];
      }
      let fin = cur;
      if (c.norm === 'pre') {
        rmsnormForward(p, norm, cur, this.w(`${L}ln2.weight`), h, r);
        fin = h;
      }
      linearForward(p, lin(R, d, c.d_ff), fin, this.wm(`${L}ffn.w1.weight`), a, false, 'ffn.w1');
      if (c.ffn === 'swiglu') {
        linearForward(p, lin(R, d, c.d_ff), fin, this.wm(`${L}ffn.w3.weight`), b, false, 'ffn.w3');
        swigluForward(p, R * c.d_ff, a, b, g);
      } else {
        siluForward(p, R * c.d_ff, a, g);
      }
      linearForward(p, lin(R, c.d_ff, d), g, this.wm(`${L}ffn.w2.weight`), cur, true, 'ffn.w2 (+ residual)');
      if (c.norm === 'post') {
        rmsnormForward(p, norm, cur, this.w(`${L}ln2.weight`), alt, r);
        [cur, alt] = [alt, cur];
      }
    }
    let xf = cur;
    if (c.norm !== 'none') {
      rmsnormForward(p, norm, cur, this.w('ln_final.weight'), h, r);
      xf = h;
    }
    const head = this.wm(c.tie_embeddings ? 'token_embeddings.weight' : 'lm_head.weight');
    if (mode === 'all') {
      if (!this.logitsAll || this.logitsAll.shape[0] < R) {
        this.logitsAll?.buffer.destroy();
        this.logitsAll = createTensor(this.gpu.device, [R, c.vocab_size], 'decode logits (all rows)');
      }
      linearForward(p, lin(R, d, c.vocab_size), xf, head, { ...this.logitsAll, shape: [R, c.vocab_size] }, false, 'lm_head');
      return p;
    }
    let rowsIn = xf;
    if (n > 1) {
      // Only each sequence's last row goes through the LM head.
      const last = this.t('last');
      for (let s = 0; s < B; s++) p.copy(xf.buffer, xf.byteOffset + (s * n + n - 1) * d * 4, last.buffer, last.byteOffset + s * d * 4, d * 4, 'last row');
      rowsIn = last;
    }
    linearForward(p, lin(B, d, c.vocab_size), rowsIn, head, this.t('logits'), false, 'lm_head');
    if (mode === 'greedy') argmaxRows(p, B, c.vocab_size, this.step, this.t('logits'), this.rows('ids', B), this.t('tokens'));
    if (mode === 'sample') sampleRows(p, B, c.vocab_size, this.step, this.sampling, this.t('logits'), this.t('rand'), this.t('weights_scratch'), this.rows('ids', B), this.t('tokens'));
    return p;
  }

  /** The settings 'sample' chunks draw with (temperature > 0). */
  setSampling(temperature: number, topK: number, topP: number): void {
    writeSampling(this.gpu.device, this.sampling, temperature, topK, topP);
  }

  /** Uniforms in [0, 1) for 'sample' chunks: u[slot·B + b] is sequence b's draw in token slot `slot`. */
  setRandom(u: Float32Array): void {
    if (u.length > CHAIN_SLOTS * this.B) throw new Error(`at most ${CHAIN_SLOTS * this.B} uniforms`);
    this.gpu.device.queue.writeBuffer(this.t('rand').buffer, 0, u.buffer, u.byteOffset, u.byteLength);
  }

  /** Empties the cache (the next chunk starts at position 0). */
  reset(): void {
    this.pos = 0;
  }

  /**
   * Queues n new tokens per sequence at the current position: ids [B, n] row-major, or none for a decode step that
   * continues from the ids the previous greedy chunk chose on the GPU. `slot` is where a greedy chunk records its
   * ids (readTokens). Nothing is read back.
   */
  forward(n: number, mode: LogitsMode, ids?: Uint32Array, slot = 0): void {
    if (n < 1) throw new Error('a chunk needs at least one token');
    if (this.pos + n > this.T) throw new Error(`chunk of ${n} at position ${this.pos} overflows the cache (${this.T})`);
    if (slot >= CHAIN_SLOTS) throw new Error(`token slot ${slot} ≥ ${CHAIN_SLOTS}`);
    const device = this.gpu.device;
    if (ids) {
      if (ids.length !== this.B * n) throw new Error(`expected ${this.B * n} ids, got ${ids.length}`);
      for (const id of ids) if (id >= this.cfg.vocab_size) throw new UserError(`token id ${id} is outside the model's vocabulary (${this.cfg.vocab_size})`, { code: 'TOKEN_OUT_OF_RANGE' });
      upload(device, this.rows('ids', this.B * n), ids);
    } else if (n !== 1) {
      throw new Error('only a one-token step can continue from GPU-chosen ids');
    }
    writeDecodeStep(device, this.step, this.pos, slot);
    this.program(n, mode).submit();
    this.pos += n;
  }

  /** The last chunk's logits of each sequence's last row, [B, vocab]. */
  async readLogits(): Promise<Float32Array> {
    return new Float32Array(await this.read(this.t('logits'), this.staging.logits, this.B * this.cfg.vocab_size * 4));
  }

  /** Logits of every row of the last 'all' chunk: [B·n, vocab]. */
  async readAllLogits(rows: number): Promise<Float32Array> {
    if (!this.logitsAll) throw new Error('no chunk has recorded all logits');
    const bytes = rows * this.cfg.vocab_size * 4;
    const staging = this.gpu.device.createBuffer({ size: alignUp(bytes, 16), usage: 0x01 | 0x08, label: 'all logits readback' });
    try {
      return new Float32Array(await this.read(this.logitsAll, staging, bytes));
    } finally {
      staging.destroy();
    }
  }

  /** Greedy ids recorded in slots 0..slots−1: [slots, B]. */
  async readTokens(slots: number): Promise<Uint32Array> {
    return new Uint32Array(await this.read(this.t('tokens'), this.staging.tokens, slots * this.B * 4));
  }

  private async read(src: Tensor, staging: GPUBuffer, bytes: number): Promise<ArrayBuffer> {
    const device = this.gpu.device;
    const enc = device.createCommandEncoder();
    enc.copyBufferToBuffer(src.buffer, src.byteOffset, staging, 0, alignUp(bytes, 4));
    device.queue.submit([enc.finish()]);
    await staging.mapAsync(0x0001);
    const out = staging.getMappedRange(0, alignUp(bytes, 4)).slice(0, bytes);
    staging.unmap();
    return out;
  }

  /** Dispatches in one decode step (for benchmarks and logs). */
  stepDispatches(mode: LogitsMode = 'greedy'): number {
    return this.program(1, mode).steps.length;
  }

  destroy(): void {
    for (const p of this.owned) p.destroy();
    this.owned.length = 0;
    for (const t of this.bufs.values()) t.buffer.destroy();
    for (const c of this.caches) { c.k.buffer.destroy(); c.v.buffer.destroy(); }
    this.weights.buffer.destroy();
    this.weights16?.buffer.destroy();
    this.logitsAll?.buffer.destroy();
    this.step.destroy();
    this.sampling.destroy();
    this.staging.logits.destroy();
    this.staging.tokens.destroy();
  }
}
