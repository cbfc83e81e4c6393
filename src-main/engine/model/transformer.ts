// The CS336 transformer LM on the GPU: allocates parameters, optimizer state and activations for a fixed batch
// shape, and records the forward, backward and optimizer work as replayable programs.
import os from 'node:os';
import { hasF16TensorCores, type Gpu } from '../gpu/device';
import { Program } from '../gpu/program';
import { createTensor, type Tensor, upload, download, STORAGE_USAGE } from '../gpu/tensor';
import { type ModelConfig, headDim } from './config';
import { parameterSpecs, layoutParameters, type ParamLayout, type ParamSlot } from './parameters';
import { planActivations, bytesOf, parameterBytes, logitsChunkRows } from './buffers';
import { linearForward, linearBackwardInput, linearBackwardWeight, selectLinearBackend, type LinearShape } from '../kernels/linear';
import { rmsnormForward, rmsnormBackwardInput, rmsnormBackwardWeight } from '../kernels/rmsnorm';
import { embeddingForward, embeddingBackward, embeddingSegments } from '../kernels/embedding';
import { rope, ropeTables } from '../kernels/rope';
import { swigluForward, swigluBackward, swigluForwardHalf, swigluBackwardHalf, siluForward, siluBackward } from '../kernels/ffn-activation';
import { residualForward } from '../kernels/residual';
import { attentionForward, attentionBackward, projectionLayout, selectAttentionBackend } from '../kernels/attention';
import { crossEntropyForwardBackward, crossEntropyReduce } from '../kernels/cross-entropy';
import { gradNorm, partialsNeeded, initialStats, STATS } from '../kernels/grad-clip';
import { adamwStep, setAdamWStep, type AdamWHyper } from '../kernels/adamw';
import { castF16 } from '../kernels/cast';
import { UserError } from '../../util/errors';

export interface RuntimeOptions {
  batchSize: number;
  seqLen: number;
  /** Allocate gradients, optimizer state and backward scratch. */
  training: boolean;
  /** Keep a copy of all logits (tests; costs batch·seq·vocab floats). */
  captureLogits?: boolean;
  /** Bytes of logits computed at a time (the LM head runs over row chunks); default 256 MiB. */
  logitsChunkBytes?: number;
  /** Clip the global gradient norm to this value (0 = off). */
  maxGradNorm?: number;
  gradClipEps?: number;
  adam?: AdamWHyper;
  /** Loss scaling for f16 matmuls: the loss gradient is multiplied by the scale and the update unscaled. */
  lossScale?: { initial: number; dynamic: boolean; growthInterval?: number };
  /**
   * f32: every matmul in f32. mixed: matmuls on tensor cores with f16 inputs and f32 accumulation (needs subgroup
   * matrices), f32 master weights, optimizer state and activations, dynamic loss scaling (2^16 to start). The GEMMs
   * read f16 copies of their operands (cast.wgsl): the weights once per step, activations and gradients as made.
   * Attention runs on tensor cores too (attention_f16.wgsl: f16 products, f32 softmax statistics).
   */
  precision?: 'f32' | 'mixed';
}

export const MIXED_LOSS_SCALE = { initial: 65536, dynamic: true, growthInterval: 2000 };

const MiB = 1024 * 1024;
const fmtMiB = (b: number) => `${(b / MiB).toFixed(0)} MiB`;

export class TransformerRuntime {
  readonly layout: ParamLayout;
  readonly BT: number;
  readonly params: Tensor;
  /** Mixed precision: the parameters in f16 (same element offsets), refreshed at the start of every forward. */
  private readonly params16?: Tensor;
  readonly grads?: Tensor;
  private readonly m?: Tensor;
  private readonly v?: Tensor;
  private readonly act = new Map<string, Tensor>();
  readonly trainProgram?: Program;
  readonly evalProgram: Program;
  private adamStepUniform?: GPUBuffer;
  private readonly adam: AdamWHyper;
  readonly chunkRows: number;
  readonly bytesAllocated: number;

  readonly precision: 'f32' | 'mixed';

  constructor(readonly gpu: Gpu, readonly cfg: ModelConfig, public opts: RuntimeOptions) {
    const device = gpu.device;
    const { batchSize: B, seqLen: T } = opts;
    if (T > cfg.context_length) throw new UserError(`sequence length ${T} is longer than context_length ${cfg.context_length}`);
    this.BT = B * T;
    this.adam = opts.adam ?? { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1 };
    // The matmul backend is chosen before any program is recorded.
    if (opts.precision === 'mixed' && !hasF16TensorCores(device)) {
      throw new UserError(`precision "mixed" needs f16 tensor cores through WebGPU subgroup matrices, which ${gpu.info.description} does not expose; use precision "f32" (or "auto")`);
    }
    this.precision = opts.precision ?? 'f32';
    selectLinearBackend(device, this.precision === 'mixed' ? 'f16' : 'f32');
    selectAttentionBackend(device, this.precision === 'mixed' ? 'f16' : 'f32');
    if (this.precision === 'mixed' && opts.training && !opts.lossScale) this.opts = { ...opts, lossScale: MIXED_LOSS_SCALE };
    this.layout = layoutParameters(parameterSpecs(cfg));
    const maxBinding = device.limits.maxStorageBufferBindingSize;
    const chunkBytes = opts.logitsChunkBytes ?? 256 * MiB;
    this.chunkRows = logitsChunkRows(cfg, this.BT, chunkBytes, maxBinding);
    const half = this.precision === 'mixed';
    const plan = planActivations(cfg, { batchSize: B, seqLen: T, logitsChunkBytes: chunkBytes, maxBindingBytes: maxBinding, training: opts.training, captureLogits: opts.captureLogits, halfCopies: half });
    const paramBytes = parameterBytes(this.layout.totalFloats, opts.training, half);
    const actBytes = plan.reduce((s, p) => s + bytesOf(p), 0);
    this.bytesAllocated = paramBytes + actBytes;
    this.checkFits(plan, paramBytes, actBytes);

    device.pushErrorScope('out-of-memory');
    const flat = (label: string) => {
      const size = this.layout.totalFloats * 4;
      if (size > device.limits.maxBufferSize) {
        throw new UserError(`the model's ${label} need ${fmtMiB(size)} in one buffer, above this device's maxBufferSize ${fmtMiB(device.limits.maxBufferSize)}; use a smaller model`);
      }
      return { buffer: device.createBuffer({ size, usage: STORAGE_USAGE, label }), byteOffset: 0, shape: [this.layout.totalFloats], dtype: 'f32' as const, label };
    };
    this.params = flat('parameters');
    if (half) this.params16 = createTensor(device, [this.layout.totalFloats], 'parameters (f16 copy)', 'f16');
    if (opts.training) {
      this.stats = createTensor(device, [STATS.size], 'optimizer stats');
      upload(device, this.stats, initialStats(this.opts.lossScale?.initial ?? 1));
      this.grads = flat('gradients');
      this.m = flat('adam m');
      this.v = flat('adam v');
    }
    for (const p of plan) this.act.set(p.name, createTensor(device, p.shape, p.name, p.dtype));
    // A failed allocation shows up in the error scope; report it as a user error with the figures.
    void device.popErrorScope().then((err) => {
      if (err) this.oomError = err.message;
    });

    if (cfg.pos === 'rope') {
      const positions = new Uint32Array(T);
      for (let t = 0; t < T; t++) positions[t] = t;
      upload(device, this.t('positions'), positions);
      const tab = ropeTables(cfg.context_length, headDim(cfg), cfg.rope_theta);
      upload(device, this.t('rope_cos'), tab.cos);
      upload(device, this.t('rope_sin'), tab.sin);
    }

    this.evalProgram = new Program(device);
    this.recordForward(this.evalProgram, false);
    crossEntropyReduce(this.evalProgram, this.BT, this.t('row_loss'), this.t('loss'));
    if (opts.training) {
      const p = new Program(device);
      p.clear(this.grads!.buffer, 0, this.grads!.buffer.size, 'zero gradients');
      this.recordForward(p, true);
      crossEntropyReduce(p, this.BT, this.t('row_loss'), this.t('loss'));
      this.recordBackward(p);
      this.recordOptimizer(p);
      this.trainProgram = p;
    }
  }

  private oomError?: string;

  /** Throws a UserError if an allocation failed (call after the first sync). */
  checkAllocation(): void {
    if (this.oomError) {
      throw new UserError(`the GPU ran out of memory: this batch needs ${fmtMiB(this.bytesAllocated)} (batch_size ${this.opts.batchSize} × ${this.opts.seqLen} tokens); lower batch_size (${this.oomError})`);
    }
  }

  private checkFits(plan: ReturnType<typeof planActivations>, paramBytes: number, actBytes: number): void {
    const device = this.gpu.device;
    const maxBinding = device.limits.maxStorageBufferBindingSize;
    const tooBig = plan.find((p) => p.bound && bytesOf(p) > maxBinding);
    if (tooBig) {
      const perBatch = bytesOf(tooBig) / this.opts.batchSize;
      const maxB = Math.max(0, Math.floor(maxBinding / perBatch));
      throw new UserError(
        `batch does not fit: activation ${tooBig.name} [${tooBig.shape.join(', ')}] needs ${fmtMiB(bytesOf(tooBig))} in one binding, and this device binds at most ${fmtMiB(maxBinding)} ` +
          `(maxStorageBufferBindingSize); use batch_size ≤ ${maxB} (or a GPU with larger bindings)`,
      );
    }
    const total = paramBytes + actBytes;
    if (this.gpu.info.isSoftware) {
      // A CPU adapter (llvmpipe) allocates from system memory: compare with what is free.
      const free = os.freemem();
      if (total > free * 0.9) {
        const perSampleBytes = actBytes / this.opts.batchSize;
        const maxB = Math.max(0, Math.floor((free * 0.9 - paramBytes) / perSampleBytes));
        throw new UserError(`batch does not fit: it needs ${fmtMiB(total)} (parameters and optimizer ${fmtMiB(paramBytes)}, activations ${fmtMiB(actBytes)}) and this CPU device has ${fmtMiB(free)} of free memory; use batch_size ≤ ${maxB}`);
      }
    }
  }

  /** An activation or scratch tensor by plan name. */
  t(name: string): Tensor {
    const x = this.act.get(name);
    if (!x) throw new Error(`no buffer ${name}`);
    return x;
  }

  has(name: string): boolean {
    return this.act.has(name);
  }

  private view(flat: Tensor, slot: ParamSlot): Tensor {
    return { buffer: flat.buffer, byteOffset: slot.offset * 4, shape: slot.shape, dtype: 'f32', label: slot.name };
  }

  slot(name: string): ParamSlot {
    const s = this.layout.byName.get(name);
    if (!s) throw new Error(`no parameter ${name}`);
    return s;
  }

  w(name: string): Tensor {
    return this.view(this.params, this.slot(name));
  }

  /** A weight as a GEMM operand: its f16 copy in mixed precision, else the f32 parameter. */
  private wm(name: string): Tensor {
    if (!this.params16) return this.w(name);
    const s = this.slot(name);
    return { buffer: this.params16.buffer, byteOffset: s.offset * 2, shape: s.shape, dtype: 'f16', label: `${s.name} (f16)` };
  }

  /** A GEMM operand: in mixed precision, x cast into the f16 buffer `half` (returned); else x itself. */
  private operand(p: Program, x: Tensor, half: string, rows?: number): Tensor {
    if (!this.params16) return x;
    const h = this.t(half);
    castF16(p, x, h, rows === undefined ? undefined : rows * x.shape[x.shape.length - 1], `cast ${x.label} → f16`);
    return h;
  }

  /** The f16 copy the forward made of an operand (mixed precision), else the f32 tensor itself. */
  private half(name: string, x: Tensor): Tensor {
    return this.params16 ? this.t(name) : x;
  }

  /** Mixed precision: refresh the f16 copy of the parameters (start of every forward; the optimizer updates the f32 ones). */
  private castParameters(p: Program): void {
    if (!this.params16) return;
    for (const r of this.ranges(this.params)) {
      const h: Tensor = { buffer: this.params16.buffer, byteOffset: r.byteOffset / 2, shape: r.shape, dtype: 'f16', label: 'parameters (f16)' };
      castF16(p, r, h, undefined, 'cast parameters → f16');
    }
  }

  g(name: string): Tensor {
    if (!this.grads) throw new Error('runtime was built without gradients');
    return this.view(this.grads, this.slot(name));
  }

  private headName(): string {
    return this.cfg.tie_embeddings ? 'token_embeddings.weight' : 'lm_head.weight';
  }

  private lin(rows = this.BT, inF = this.cfg.d_model, outF = this.cfg.d_model): LinearShape {
    return { rows, inFeatures: inF, outFeatures: outF };
  }

  private recordForward(p: Program, training: boolean): void {
    const c = this.cfg;
    const d = c.d_model;
    const BT = this.BT;
    const norm = { rows: BT, D: d, eps: c.rmsnorm_eps };
    const att = projectionLayout(this.opts.batchSize, this.opts.seqLen, c.num_heads, headDim(c));
    this.castParameters(p);
    embeddingForward(p, { rows: BT, D: d, vocab: c.vocab_size }, this.t('ids'), this.w('token_embeddings.weight'), this.t('x0'));
    for (let l = 0; l < c.num_layers; l++) {
      const L = `layers.${l}.`;
      const x = this.t(`x${l}`);
      const xnext = this.t(`x${l + 1}`);
      let ain = x;
      if (c.norm === 'pre') {
        rmsnormForward(p, norm, x, this.w(`${L}ln1.weight`), this.t(`${L}n1`), this.t(`${L}r1`));
        ain = this.t(`${L}n1`);
      }
      const [q, k, v, o] = ['q', 'k', 'v', 'o'].map((n) => this.t(`${L}${n}`));
      const ainOp = this.operand(p, ain, `${L}ain16`);
      linearForward(p, this.lin(), ainOp, this.wm(`${L}attn.q_proj.weight`), q);
      linearForward(p, this.lin(), ainOp, this.wm(`${L}attn.k_proj.weight`), k);
      linearForward(p, this.lin(), ainOp, this.wm(`${L}attn.v_proj.weight`), v);
      if (c.pos === 'rope') {
        rope(p, att, q, this.t('positions'), this.t('rope_cos'), this.t('rope_sin'), false);
        rope(p, att, k, this.t('positions'), this.t('rope_cos'), this.t('rope_sin'), false);
      }
      attentionForward(p, att, q, k, v, o, this.t(`${L}lse`));
      const proj = this.t('proj');
      linearForward(p, this.lin(), this.operand(p, o, `${L}o16`), this.wm(`${L}attn.output_proj.weight`), proj);
      const xmid = this.t(`${L}xmid`);
      if (c.norm === 'post') {
        residualForward(p, BT * d, x, proj, this.t(`${L}s1`));
        rmsnormForward(p, norm, this.t(`${L}s1`), this.w(`${L}ln1.weight`), xmid, this.t(`${L}r1`));
      } else {
        residualForward(p, BT * d, x, proj, xmid);
      }
      let fin = xmid;
      if (c.norm === 'pre') {
        rmsnormForward(p, norm, xmid, this.w(`${L}ln2.weight`), this.t(`${L}n2`), this.t(`${L}r2`));
        fin = this.t(`${L}n2`);
      }
      const a = this.t(`${L}a`);
      const finOp = this.operand(p, fin, `${L}fin16`);
      linearForward(p, this.lin(BT, d, c.d_ff), finOp, this.wm(`${L}ffn.w1.weight`), a);
      let hOp: Tensor;
      if (c.ffn === 'swiglu') {
        const b = this.t(`${L}b`);
        linearForward(p, this.lin(BT, d, c.d_ff), finOp, this.wm(`${L}ffn.w3.weight`), b);
        if (this.params16) {
          // Mixed precision: the gate's output only as the f16 operand of w2 (fused cast).
          hOp = this.t(`${L}h16`);
          swigluForwardHalf(p, BT * c.d_ff, a, b, hOp);
        } else {
          hOp = this.t(`${L}h`);
          swigluForward(p, BT * c.d_ff, a, b, hOp);
        }
      } else {
        siluForward(p, BT * c.d_ff, a, this.t(`${L}h`));
        hOp = this.operand(p, this.t(`${L}h`), `${L}h16`);
      }
      linearForward(p, this.lin(BT, c.d_ff, d), hOp, this.wm(`${L}ffn.w2.weight`), proj);
      if (c.norm === 'post') {
        residualForward(p, BT * d, xmid, proj, this.t(`${L}s2`));
        rmsnormForward(p, norm, this.t(`${L}s2`), this.w(`${L}ln2.weight`), xnext, this.t(`${L}r2`));
      } else {
        residualForward(p, BT * d, xmid, proj, xnext);
      }
    }
    const xL = this.t(`x${c.num_layers}`);
    let xf = xL;
    if (c.norm !== 'none') {
      rmsnormForward(p, norm, xL, this.w('ln_final.weight'), this.t('xf'), this.t('rf'));
      xf = this.t('xf');
    }
    // LM head and loss over row chunks; in training the head's backward runs per chunk too, so the logits
    // buffer only ever holds one chunk.
    const head = this.wm(this.headName());
    const xfOp = this.operand(p, xf, 'xf16');
    const logits = this.t('logits');
    for (let r0 = 0; r0 < BT; r0 += this.chunkRows) {
      const rows = Math.min(this.chunkRows, BT - r0);
      const s: LinearShape = { rows, inFeatures: d, outFeatures: c.vocab_size, xRow: r0, yRow: 0 };
      linearForward(p, s, xfOp, head, logits, false, 'lm_head_forward');
      if (this.opts.captureLogits) p.copy(logits.buffer, 0, this.t('logits_capture').buffer, r0 * c.vocab_size * 4, rows * c.vocab_size * 4, 'capture logits');
      // Mixed precision with an even vocabulary: the gradient straight into the f16 operand of the head's backward.
      const grad16 = training && this.params16 && c.vocab_size % 2 === 0 ? this.t('logits16') : undefined;
      crossEntropyForwardBackward(p, { rows, V: c.vocab_size, rowOffset: r0, totalRows: BT, writeGrad: training }, logits, this.t('targets'), this.t('row_loss'), this.stats ?? this.t('loss'), grad16);
      if (training) {
        // The head's gradient accumulates over chunks (gradients are zeroed at the start of the step).
        const dlogits = grad16 ?? this.operand(p, logits, 'logits16', rows);
        linearBackwardWeight(p, s, dlogits, xfOp, this.g(this.headName()), true, 'lm_head_backward_weight');
        linearBackwardInput(p, s, dlogits, head, this.t('dxf'), false, 'lm_head_backward_input');
      }
    }
  }

  private recordBackward(p: Program): void {
    const c = this.cfg;
    const d = c.d_model;
    const f = c.d_ff;
    const BT = this.BT;
    const norm = { rows: BT, D: d, eps: c.rmsnorm_eps };
    const att = projectionLayout(this.opts.batchSize, this.opts.seqLen, c.num_heads, headDim(c));
    const xL = this.t(`x${c.num_layers}`);
    let G = this.t('G');
    if (c.norm !== 'none') {
      rmsnormBackwardInput(p, norm, xL, this.w('ln_final.weight'), this.t('dxf'), this.t('rf'), G, false);
      rmsnormBackwardWeight(p, norm, xL, this.t('dxf'), this.t('rf'), this.g('ln_final.weight'), this.t('norm_partial'));
    } else {
      G = this.t('dxf');
    }
    const dN = this.t('dN');
    const dO = this.t('dO');
    const dh = this.t('dh');
    const [dq, dk, dv] = [this.t('dq'), this.t('dk'), this.t('dv')];
    for (let l = c.num_layers - 1; l >= 0; l--) {
      const L = `layers.${l}.`;
      const x = this.t(`x${l}`);
      const xmid = this.t(`${L}xmid`);
      const a = this.t(`${L}a`);
      // FFN branch. df is the gradient at the FFN's output (and, for pre/none, of the residual stream).
      let df = G;
      if (c.norm === 'post') {
        const S = this.t('S');
        rmsnormBackwardInput(p, norm, this.t(`${L}s2`), this.w(`${L}ln2.weight`), G, this.t(`${L}r2`), S, false);
        rmsnormBackwardWeight(p, norm, this.t(`${L}s2`), G, this.t(`${L}r2`), this.g(`${L}ln2.weight`), this.t('norm_partial'));
        df = S;
      }
      const dfOp = this.operand(p, df, 'gd16');
      linearBackwardInput(p, this.lin(BT, f, d), dfOp, this.wm(`${L}ffn.w2.weight`), dh);
      const hOp = this.params16 ? this.t(`${L}h16`) : this.t(`${L}h`);
      linearBackwardWeight(p, this.lin(BT, f, d), dfOp, hOp, this.g(`${L}ffn.w2.weight`));
      // d/da (and d/db): in place over a (and b), or in mixed precision with SwiGLU straight into f16 operands.
      let daOp: Tensor;
      let dbOp: Tensor | undefined;
      if (c.ffn === 'swiglu' && this.params16) {
        daOp = this.t('gf16');
        dbOp = this.t('gf16b');
        swigluBackwardHalf(p, BT * f, a, this.t(`${L}b`), dh, daOp, dbOp);
      } else {
        if (c.ffn === 'swiglu') swigluBackward(p, BT * f, a, this.t(`${L}b`), dh);
        else siluBackward(p, BT * f, a, dh);
        daOp = this.operand(p, a, 'gf16');
      }
      // Gradient at the FFN input: into dN (pre) or onto the residual (post/none).
      const fin = c.norm === 'pre' ? this.t(`${L}n2`) : xmid;
      const finGrad = c.norm === 'pre' ? dN : df;
      const accIn = c.norm !== 'pre';
      const finOp = this.half(`${L}fin16`, fin);
      linearBackwardInput(p, this.lin(BT, d, f), daOp, this.wm(`${L}ffn.w1.weight`), finGrad, accIn);
      linearBackwardWeight(p, this.lin(BT, d, f), daOp, finOp, this.g(`${L}ffn.w1.weight`));
      if (c.ffn === 'swiglu') {
        dbOp ??= this.operand(p, this.t(`${L}b`), 'gf16');
        linearBackwardInput(p, this.lin(BT, d, f), dbOp, this.wm(`${L}ffn.w3.weight`), finGrad, true);
        linearBackwardWeight(p, this.lin(BT, d, f), dbOp, finOp, this.g(`${L}ffn.w3.weight`));
      }
      if (c.norm === 'pre') {
        rmsnormBackwardInput(p, norm, xmid, this.w(`${L}ln2.weight`), dN, this.t(`${L}r2`), G, true);
        rmsnormBackwardWeight(p, norm, xmid, dN, this.t(`${L}r2`), this.g(`${L}ln2.weight`), this.t('norm_partial'));
      }
      // Attention branch. dproj is the gradient at the attention block's output projection.
      let dproj = df; // pre/none: G (now d xmid); post: S (d xmid)
      if (c.norm === 'post') {
        const S = this.t('S');
        rmsnormBackwardInput(p, norm, this.t(`${L}s1`), this.w(`${L}ln1.weight`), S, this.t(`${L}r1`), G, false);
        rmsnormBackwardWeight(p, norm, this.t(`${L}s1`), S, this.t(`${L}r1`), this.g(`${L}ln1.weight`), this.t('norm_partial'));
        dproj = G;
      }
      const [q, k, v, o] = ['q', 'k', 'v', 'o'].map((n) => this.t(`${L}${n}`));
      const dprojOp = this.operand(p, dproj, 'gd16');
      linearBackwardInput(p, this.lin(), dprojOp, this.wm(`${L}attn.output_proj.weight`), dO);
      linearBackwardWeight(p, this.lin(), dprojOp, this.half(`${L}o16`, o), this.g(`${L}attn.output_proj.weight`));
      attentionBackward(p, att, q, k, v, o, this.t(`${L}lse`), dO, { dq, dk, dv, dsum: this.t('dsum') });
      if (c.pos === 'rope') {
        rope(p, att, dq, this.t('positions'), this.t('rope_cos'), this.t('rope_sin'), true);
        rope(p, att, dk, this.t('positions'), this.t('rope_cos'), this.t('rope_sin'), true);
      }
      const ain = c.norm === 'pre' ? this.t(`${L}n1`) : x;
      const ainGrad = c.norm === 'pre' ? dN : G;
      const acc = c.norm !== 'pre';
      const projs: Array<[Tensor, string]> = [[dq, 'q_proj'], [dk, 'k_proj'], [dv, 'v_proj']];
      const ainOp = this.half(`${L}ain16`, ain);
      projs.forEach(([dy, name], i) => {
        const dyOp = this.operand(p, dy, 'gd16');
        linearBackwardInput(p, this.lin(), dyOp, this.wm(`${L}attn.${name}.weight`), ainGrad, acc || i > 0);
        linearBackwardWeight(p, this.lin(), dyOp, ainOp, this.g(`${L}attn.${name}.weight`));
      });
      if (c.norm === 'pre') {
        rmsnormBackwardInput(p, norm, x, this.w(`${L}ln1.weight`), dN, this.t(`${L}r1`), G, true);
        rmsnormBackwardWeight(p, norm, x, dN, this.t(`${L}r1`), this.g(`${L}ln1.weight`), this.t('norm_partial'));
      }
    }
    embeddingBackward(
      p, { rows: BT, D: d, vocab: c.vocab_size }, G,
      { order: this.t('seg_order'), segStart: this.t('seg_start'), segId: this.t('seg_id'), segMeta: this.t('seg_meta') },
      this.g('token_embeddings.weight'),
    );
  }

  /** Flat buffers cut into bindable ranges (AdamW and the grad norm run over all parameters at once). */
  private ranges(flat: Tensor): Tensor[] {
    const maxFloats = Math.floor(this.gpu.device.limits.maxStorageBufferBindingSize / 4 / 128) * 128; // f16 views stay 256-byte aligned
    const out: Tensor[] = [];
    for (let start = 0; start < this.layout.totalFloats; start += maxFloats) {
      const n = Math.min(maxFloats, this.layout.totalFloats - start);
      out.push({ buffer: flat.buffer, byteOffset: start * 4, shape: [n], dtype: 'f32', label: `${flat.label}[${start}..]` });
    }
    return out;
  }

  private recordOptimizer(p: Program): void {
    const device = this.gpu.device;
    const gr = this.ranges(this.grads!);
    const stats = this.stats!;
    const partials = createTensor(device, [Math.max(1, partialsNeeded(gr))], 'grad norm partials');
    const ls = this.opts.lossScale;
    gradNorm(p, gr, partials, stats, this.opts.maxGradNorm ?? 0, this.opts.gradClipEps ?? 1e-6, { dynamic: ls?.dynamic ?? false, growthInterval: ls?.growthInterval ?? 2000 });
    const pr = this.ranges(this.params);
    const mr = this.ranges(this.m!);
    const vr = this.ranges(this.v!);
    this.adamStepUniform = adamwStep(p, pr.map((param, i) => ({ param, grad: gr[i], m: mr[i], v: vr[i] })), stats);
  }

  /** Optimizer stats (grad norm, clip factor, overflow flag, loss scale): see grad-clip.ts STATS. */
  readonly stats?: Tensor;

  /** Uploads a batch: token ids and next-token targets, [batch, seq] row-major. */
  setBatch(ids: Uint32Array, targets: Uint32Array, segments?: ReturnType<typeof embeddingSegments>): void {
    const device = this.gpu.device;
    if (ids.length !== this.BT || targets.length !== this.BT) throw new Error(`batch must have ${this.BT} tokens`);
    upload(device, this.t('ids'), ids);
    upload(device, this.t('targets'), targets);
    if (this.opts.training) {
      const s = segments ?? embeddingSegments(ids);
      upload(device, this.t('seg_order'), s.order);
      upload(device, this.t('seg_start'), s.segStart);
      upload(device, this.t('seg_id'), s.segId);
      upload(device, this.t('seg_meta'), new Uint32Array([s.count, 0, 0, 0]));
    }
  }

  /** Queues one training step (forward, backward, clip, AdamW) at learning rate lr for optimizer step t (1-based). */
  trainStep(lr: number, t: number): void {
    if (!this.trainProgram) throw new Error('runtime was built without training');
    setAdamWStep(this.gpu.device, this.adamStepUniform!, lr, t, this.adam);
    this.trainProgram.submit();
  }

  /** Queues forward + backward only (no optimizer update): for gradient checks. */
  forwardBackwardOnly(): void {
    const p = new Program(this.gpu.device);
    p.clear(this.grads!.buffer, 0, this.grads!.buffer.size);
    this.recordForward(p, true);
    crossEntropyReduce(p, this.BT, this.t('row_loss'), this.t('loss'));
    this.recordBackward(p);
    p.submit();
  }

  evaluate(): void {
    this.evalProgram.submit();
  }

  async readLoss(): Promise<number> {
    return (await download(this.gpu.device, this.t('loss')))[0];
  }

  /** Per-row (per-token) losses of the last forward, [batch·seq]. */
  async readRowLoss(): Promise<Float32Array> {
    return download(this.gpu.device, this.t('row_loss'));
  }

  async readGradNorm(): Promise<number> {
    if (!this.stats) return NaN;
    return (await download(this.gpu.device, this.stats))[STATS.norm];
  }

  /** [grad norm, clip·unscale factor, skipped (overflow), loss scale]. */
  async readStats(): Promise<{ gradNorm: number; skipped: boolean; lossScale: number }> {
    const s = await download(this.gpu.device, this.stats!);
    return { gradNorm: s[STATS.norm], skipped: s[STATS.skip] !== 0, lossScale: s[STATS.scale] };
  }

  setParameters(flat: Float32Array): void {
    if (flat.length !== this.layout.totalFloats) throw new Error('parameter buffer size mismatch');
    upload(this.gpu.device, this.params, flat);
  }

  /** Restores the loss scale and its good-step counter (from a checkpoint). */
  setLossScaleState(scale: number, goodSteps: number): void {
    const s = initialStats(scale);
    s[STATS.goodSteps] = goodSteps;
    upload(this.gpu.device, this.stats!, s);
  }

  async lossScaleState(): Promise<{ scale: number; goodSteps: number }> {
    const s = await download(this.gpu.device, this.stats!);
    return { scale: s[STATS.scale], goodSteps: s[STATS.goodSteps] };
  }

  setOptimizerState(m: Float32Array, v: Float32Array): void {
    upload(this.gpu.device, this.m!, m);
    upload(this.gpu.device, this.v!, v);
  }

  async readFlat(which: 'params' | 'grads' | 'm' | 'v'): Promise<Float32Array> {
    const t = which === 'params' ? this.params : which === 'grads' ? this.grads : which === 'm' ? this.m : this.v;
    if (!t) throw new Error(`runtime has no ${which}`);
    return download(this.gpu.device, t);
  }

  destroy(): void {
    for (const t of this.act.values()) t.buffer.destroy();
    for (const t of [this.params, this.params16, this.grads, this.m, this.v]) t?.buffer.destroy();
  }
}
