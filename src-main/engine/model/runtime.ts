// The CS336 transformer LM on the GPU for a fixed batch shape, in two forms:
//   TrainingRuntime  parameters, gradients, AdamW state and every activation the backward needs; records the
//                    training step (forward + loss, backward, grad norm + AdamW) and an evaluation program;
//   ForwardRuntime   parameters and one set of layer scratch only (no gradients, no optimizer state, no backward
//                    scratch): evaluation and generation.
// Both plan their buffers first (plan.ts), refuse a batch that cannot fit with the figures, allocate, then record
// their programs with the kernels their precision chose (kernels/choice.ts): the choice lives in each Program, so
// runtimes of different precisions coexist on one device. Each releases everything it allocated (buffers,
// uniforms, scratch) in destroy(), and a constructor that throws releases what it had already allocated.
import os from 'node:os';
import type { Gpu } from '../gpu/device';
import { Program, ScratchPool, type KernelChoice } from '../gpu/program';
import { createTensor, download, upload, type Tensor } from '../gpu/tensor';
import { type ModelConfig, headDim } from './config';
import { parameterSpecs, layoutParameters, type ParamLayout } from './parameters';
import {
  allocatePlan, bytesOf, defaultLogitsChunkBytes, logitsChunkRows, parameterBytes, planForwardOnly, planTraining,
  type Allocated, type ForwardPlan, type Planned, type TensorSpec, type TrainingPlan,
} from './plan';
import { ParameterBuffers, fmtMiB } from './weights';
import { recordForward, type ModelParts } from './forward';
import { recordBackward } from './backward';
import { recordOptimizer } from './optimizer';
import { chooseKernels, type Precision } from '../kernels/choice';
import { embeddingSegments, type HostSegments } from '../kernels/embedding';
import { ropeTables } from '../kernels/rope';
import { initialStats, STATS } from '../kernels/grad-clip';
import { setAdamWStep, type AdamWHyper } from '../kernels/adamw';
import { UserError } from '../../util/errors';

export interface ForwardRuntimeOptions {
  batchSize: number;
  seqLen: number;
  /** Keep a copy of all logits (readLogits; costs batch·seq·vocab floats). */
  captureLogits?: boolean;
  /** Bytes of logits computed at a time (the LM head runs over row chunks); default defaultLogitsChunkBytes() (plan.ts). */
  logitsChunkBytes?: number;
  /**
   * Tests: plan for a binding limit below the device's maxStorageBufferBindingSize, so that the paths for batches
   * too large for one binding (the FFN recorded in row chunks, q/k/v unfused) run on small models.
   */
  maxBindingBytes?: number;
  /**
   * f32: every matmul in f32. mixed: matmuls on tensor cores with f16 inputs and f32 accumulation (needs subgroup
   * matrices), f32 master weights, optimizer state and activations, dynamic loss scaling (2^16 to start). The GEMMs
   * read f16 copies of their operands (cast.wgsl): the weights once per step, activations and gradients as made.
   * Attention runs on tensor cores too (attention_f16.wgsl: f16 products, f32 softmax statistics).
   */
  precision?: Precision;
  /**
   * The kernels to record with, instead of those the precision chooses (not checked against the device): for
   * benchmarks, and for tests that run the tensor-core kernels' logic with emulated subgroup matrices on any
   * adapter. Mixed precision needs linear 'f16' (its GEMMs read f16 operands).
   */
  kernels?: KernelChoice;
}

export interface TrainingRuntimeOptions extends ForwardRuntimeOptions {
  /** Always true for a TrainingRuntime (kept for older callers); use ForwardRuntime for a model without gradients. */
  training?: boolean;
  /** Clip the global gradient norm to this value (0 = off). */
  maxGradNorm?: number;
  gradClipEps?: number;
  adam?: AdamWHyper;
  /** Loss scaling for f16 matmuls: the loss gradient is multiplied by the scale and the update unscaled. */
  lossScale?: { initial: number; dynamic: boolean; growthInterval?: number };
}

/** @deprecated the options of TrainingRuntime (the name before the split). */
export type RuntimeOptions = TrainingRuntimeOptions;

export const MIXED_LOSS_SCALE = { initial: 65536, dynamic: true, growthInterval: 2000 };

/** What both runtimes build the same way: parameters, activations, kernel choice, scratch; released together. */
class Core<P extends ForwardPlan<TensorSpec>> {
  readonly device: GPUDevice;
  readonly layout: ParamLayout;
  readonly BT: number;
  readonly chunkRows: number;
  readonly precision: Precision;
  readonly kernels: KernelChoice;
  readonly bytesAllocated: number;
  readonly weights: ParameterBuffers;
  readonly plan: Allocated<P>;
  readonly parts: ModelParts;
  /** Every tensor and program this runtime made (destroy releases them). */
  readonly owned: Tensor[] = [];
  readonly programs: Program[] = [];
  readonly scratch: ScratchPool;
  private oomError?: string;
  private destroyed = false;

  constructor(readonly gpu: Gpu, readonly cfg: ModelConfig, readonly opts: ForwardRuntimeOptions, training: boolean, plan: (o: Parameters<typeof planForwardOnly>[1]) => Planned<P>) {
    const device = (this.device = gpu.device);
    const { batchSize: B, seqLen: T } = opts;
    if (T > cfg.context_length) throw new UserError(`sequence length ${T} is longer than context_length ${cfg.context_length}`, { code: 'CONFIG_INVALID', data: { seqLen: T, contextLength: cfg.context_length } });
    this.BT = B * T;
    this.precision = opts.precision ?? 'f32';
    this.kernels = opts.kernels ?? chooseKernels(device, this.precision, gpu.info.name);
    const halfOperands = this.precision === 'mixed';
    if (halfOperands && this.kernels.linear !== 'f16') throw new Error('mixed precision reads f16 GEMM operands: it needs the f16 linear kernels');
    this.layout = layoutParameters(parameterSpecs(cfg));
    const maxBinding = this.maxBinding();
    const chunkBytes = opts.logitsChunkBytes ?? defaultLogitsChunkBytes();
    this.chunkRows = logitsChunkRows(cfg, this.BT, chunkBytes, maxBinding);
    const planned = plan({ batchSize: B, seqLen: T, logitsChunkBytes: chunkBytes, maxBindingBytes: maxBinding, captureLogits: opts.captureLogits, halfOperands });
    const paramBytes = parameterBytes(this.layout.totalFloats, training, halfOperands);
    const actBytes = planned.buffers.reduce((s, p) => s + bytesOf(p), 0);
    this.bytesAllocated = paramBytes + actBytes;
    this.checkFits(planned.buffers, paramBytes, actBytes);

    this.scratch = new ScratchPool(device);
    try {
      device.pushErrorScope('out-of-memory');
      try {
        this.weights = new ParameterBuffers(device, this.layout, { training, halfCopy: halfOperands }, this.owned);
        this.plan = allocatePlan(device, planned, this.owned);
      } finally {
        // A failed allocation shows up in the error scope; checkAllocation reports it with the figures.
        void device.popErrorScope().then((err) => {
          if (err) this.oomError = err.message;
        });
      }
      if (this.plan.rope) {
        const positions = new Uint32Array(T);
        for (let t = 0; t < T; t++) positions[t] = t;
        upload(device, this.plan.rope.positions, positions);
        const tab = ropeTables(cfg.context_length, headDim(cfg), cfg.rope_theta);
        upload(device, this.plan.rope.cos, tab.cos);
        upload(device, this.plan.rope.sin, tab.sin);
      }
      this.parts = { cfg, batchSize: B, seqLen: T, weights: this.weights, chunkRows: this.chunkRows, maxBindingBytes: maxBinding };
    } catch (e) {
      this.destroy();
      throw e;
    }
  }

  /** A new program recorded with this runtime's kernels and scratch, released by destroy(). */
  program(): Program {
    const p = new Program(this.device, this.kernels, { scratch: this.scratch });
    this.programs.push(p);
    return p;
  }

  private checkFits(buffers: TensorSpec[], paramBytes: number, actBytes: number): void {
    const { batchSize } = this.opts;
    const maxBinding = this.maxBinding();
    const maxBuffer = this.device.limits.maxBufferSize;
    // Row-chunked buffers (the FFN's [rows, d_ff] activations) are bound part by part: only one buffer's limit applies.
    const tooBig = buffers.find((p) => bytesOf(p) > (p.rowChunks ? maxBuffer : maxBinding));
    if (tooBig) {
      const perBatch = bytesOf(tooBig) / batchSize;
      const maxB = Math.max(0, Math.floor((tooBig.rowChunks ? maxBuffer : maxBinding) / perBatch));
      throw new UserError(
        tooBig.rowChunks
          ? `batch does not fit: activation ${tooBig.name} [${tooBig.shape.join(', ')}] needs ${fmtMiB(bytesOf(tooBig))} in one buffer, and this device allows at most ${fmtMiB(maxBuffer)} (maxBufferSize); use batch_size ≤ ${maxB}`
          : `batch does not fit: activation ${tooBig.name} [${tooBig.shape.join(', ')}] needs ${fmtMiB(bytesOf(tooBig))} in one binding, and this device binds at most ${fmtMiB(maxBinding)} ` +
            `(maxStorageBufferBindingSize); use batch_size ≤ ${maxB} (or a GPU with larger bindings)`,
        { code: 'BATCH_TOO_LARGE', data: { buffer: tooBig.name, bytes: bytesOf(tooBig), maxBinding, maxBatchSize: maxB } },
      );
    }
    const total = paramBytes + actBytes;
    if (this.gpu.info.isSoftware) {
      // A CPU adapter (llvmpipe) allocates from system memory: compare with what is free.
      const free = os.freemem();
      if (total > free * 0.9) {
        const perSampleBytes = actBytes / batchSize;
        const maxB = Math.max(0, Math.floor((free * 0.9 - paramBytes) / perSampleBytes));
        throw new UserError(
          `batch does not fit: it needs ${fmtMiB(total)} (parameters${paramBytes !== this.layout.totalFloats * 4 ? ' and optimizer' : ''} ${fmtMiB(paramBytes)}, activations ${fmtMiB(actBytes)}) and this CPU device has ${fmtMiB(free)} of free memory; use batch_size ≤ ${maxB}`,
          { code: 'BATCH_TOO_LARGE', data: { bytes: total, parameterBytes: paramBytes, activationBytes: actBytes, freeBytes: free, maxBatchSize: maxB } },
        );
      }
    }
  }

  /** The binding limit the plan works to: the device's, or a smaller one a test asks for (ForwardRuntimeOptions.maxBindingBytes). */
  private maxBinding(): number {
    const dev = this.device.limits.maxStorageBufferBindingSize;
    const want = this.opts.maxBindingBytes;
    if (want !== undefined && (!Number.isInteger(want) || want <= 0 || want > dev)) throw new Error(`maxBindingBytes ${want} must be a positive integer ≤ the device's ${dev}`);
    return want ?? dev;
  }

  checkAllocation(): void {
    if (this.oomError) {
      throw new UserError(`the GPU ran out of memory: this batch needs ${fmtMiB(this.bytesAllocated)} (batch_size ${this.opts.batchSize} × ${this.opts.seqLen} tokens); lower batch_size (${this.oomError})`, {
        code: 'GPU_OUT_OF_MEMORY', data: { bytes: this.bytesAllocated, batchSize: this.opts.batchSize, seqLen: this.opts.seqLen, detail: this.oomError },
      });
    }
  }

  uploadBatch(ids: Uint32Array, targets: Uint32Array): void {
    if (ids.length !== this.BT || targets.length !== this.BT) throw new Error(`batch must have ${this.BT} tokens`);
    upload(this.device, this.plan.ids, ids);
    upload(this.device, this.plan.targets, targets);
  }

  async readResidual(layer: number): Promise<Float32Array> {
    if (!Number.isInteger(layer) || layer < 0 || layer > this.cfg.num_layers) throw new Error(`readResidual: layer ${layer} is outside 0..${this.cfg.num_layers}`);
    return download(this.device, this.plan.x[layer]);
  }

  async readLogits(): Promise<Float32Array> {
    if (!this.plan.logitsCapture) throw new Error('readLogits needs a runtime built with captureLogits');
    return download(this.device, this.plan.logitsCapture);
  }

  setParameters(flat: Float32Array): void {
    if (flat.length !== this.layout.totalFloats) throw new Error('parameter buffer size mismatch');
    upload(this.device, this.weights.params, flat);
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    for (const p of this.programs) p.destroy();
    this.scratch.destroy();
    for (const t of this.owned) t.buffer.destroy();
    this.owned.length = 0;
  }
}

/** Members both runtimes share (delegated to their Core). */
abstract class RuntimeBase<P extends ForwardPlan<TensorSpec>> {
  protected abstract readonly core: Core<P>;
  /** Forward and loss on the current batch (no gradients). */
  abstract readonly evalProgram: Program;

  get gpu(): Gpu { return this.core.gpu; }
  get cfg(): ModelConfig { return this.core.cfg; }
  get layout(): ParamLayout { return this.core.layout; }
  get BT(): number { return this.core.BT; }
  get chunkRows(): number { return this.core.chunkRows; }
  get precision(): Precision { return this.core.precision; }
  /** The kernels this runtime's programs record with. */
  get kernels(): KernelChoice { return this.core.kernels; }
  get bytesAllocated(): number { return this.core.bytesAllocated; }
  /** The buffer plan, allocated (typed handles: plan.x[l], plan.layers[l].attn.q, plan.logits, …). */
  get plan(): Allocated<P> { return this.core.plan; }

  /** Throws a UserError if an allocation failed (call after the first sync). */
  checkAllocation(): void { this.core.checkAllocation(); }

  /** Queues the forward and loss on the current batch (row losses and their mean; no gradients). */
  evaluate(): void { this.evalProgram.submit(); }

  async readLoss(): Promise<number> { return (await download(this.core.device, this.core.plan.loss))[0]; }

  /** Per-row (per-token) losses of the last forward, [batch·seq]. */
  async readRowLoss(): Promise<Float32Array> { return download(this.core.device, this.core.plan.rowLoss); }

  /**
   * The residual stream entering layer `layer` in the last forward, [batch·seq, d_model] row-major; layer =
   * num_layers gives the stream after the last layer, before the final norm.
   */
  readResidual(layer: number): Promise<Float32Array> { return this.core.readResidual(layer); }

  /** All logits of the last forward, [batch·seq, vocab] (needs captureLogits). */
  readLogits(): Promise<Float32Array> { return this.core.readLogits(); }

  setParameters(flat: Float32Array): void { this.core.setParameters(flat); }

  /** Releases every buffer, uniform and scratch this runtime allocated (idempotent). */
  destroy(): void { this.core.destroy(); }
}

/** Forward only, for evaluation and generation: parameters and one set of layer scratch, no gradients. */
export class ForwardRuntime extends RuntimeBase<ForwardPlan<TensorSpec>> {
  protected readonly core: Core<ForwardPlan<TensorSpec>>;
  readonly evalProgram: Program;

  constructor(gpu: Gpu, cfg: ModelConfig, opts: ForwardRuntimeOptions) {
    super();
    this.core = new Core(gpu, cfg, opts, false, (o) => planForwardOnly(cfg, o));
    try {
      this.evalProgram = this.core.program();
      recordForward(this.evalProgram, this.core.parts, this.core.plan);
    } catch (e) {
      this.core.destroy();
      throw e;
    }
  }

  /** Uploads a batch, [batch, seq] row-major; without targets the loss is computed against token 0 (read logits instead). */
  setBatch(ids: Uint32Array, targets: Uint32Array = new Uint32Array(ids.length)): void {
    this.core.uploadBatch(ids, targets);
  }

  async readFlat(which: 'params'): Promise<Float32Array> {
    if (which !== 'params') throw new Error(`a forward-only runtime has no ${String(which)}`);
    return download(this.core.device, this.core.weights.params);
  }
}

/** Training: forward, hand-written backward, gradient clipping and AdamW, plus evaluation on the same buffers. */
export class TrainingRuntime extends RuntimeBase<TrainingPlan<TensorSpec>> {
  protected readonly core: Core<TrainingPlan<TensorSpec>>;
  readonly evalProgram: Program;
  readonly trainProgram: Program;
  /** Optimizer stats (grad norm, clip factor, overflow flag, loss scale): see grad-clip.ts STATS. */
  readonly stats: Tensor;
  readonly opts: TrainingRuntimeOptions;
  private readonly adam: AdamWHyper;
  private readonly adamStepUniform: GPUBuffer;
  private gradientProgram?: Program;

  constructor(gpu: Gpu, cfg: ModelConfig, opts: TrainingRuntimeOptions) {
    super();
    if (opts.training === false) throw new Error('a TrainingRuntime always trains: use ForwardRuntime for a model without gradients');
    const precision = opts.precision ?? 'f32';
    this.opts = precision === 'mixed' && !opts.lossScale ? { ...opts, lossScale: MIXED_LOSS_SCALE } : opts;
    this.adam = opts.adam ?? { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1 };
    const core = (this.core = new Core(gpu, cfg, this.opts, true, (o) => planTraining(cfg, o)));
    try {
      this.stats = createTensor(core.device, [STATS.size], 'optimizer stats');
      core.owned.push(this.stats);
      upload(core.device, this.stats, initialStats(this.opts.lossScale?.initial ?? 1));
      this.evalProgram = core.program();
      recordForward(this.evalProgram, core.parts, core.plan);
      const p = (this.trainProgram = core.program());
      this.recordGradients(p);
      this.adamStepUniform = recordOptimizer(p, core.weights, this.stats, {
        maxGradNorm: this.opts.maxGradNorm ?? 0, gradClipEps: this.opts.gradClipEps ?? 1e-6, lossScale: this.opts.lossScale,
      }, core.parts.maxBindingBytes, core.owned);
    } catch (e) {
      core.destroy();
      throw e;
    }
  }

  /** Zero the gradients, forward + loss (with the head's backward), backward. */
  private recordGradients(p: Program): void {
    const grads = this.core.weights.grads!;
    p.clear(grads.buffer, 0, grads.buffer.size, 'zero gradients');
    recordForward(p, this.core.parts, this.core.plan, { backward: this.core.plan.backward, stats: this.stats });
    recordBackward(p, this.core.parts, this.core.plan);
  }

  /** Uploads a batch: token ids and next-token targets, [batch, seq] row-major (and the embedding backward's grouping). */
  setBatch(ids: Uint32Array, targets: Uint32Array, segments?: HostSegments): void {
    this.core.uploadBatch(ids, targets);
    const s = segments ?? embeddingSegments(ids);
    const seg = this.core.plan.backward.segments;
    const device = this.core.device;
    upload(device, seg.order, s.order);
    upload(device, seg.chunkStart, s.chunkStart);
    upload(device, seg.chunkDest, s.chunkDest);
    upload(device, seg.longId, s.longId);
    upload(device, seg.longSlot, s.longSlot);
    upload(device, seg.meta, new Uint32Array([s.chunks, s.longs, 0, 0]));
  }

  /** Queues one training step (forward, backward, clip, AdamW) at learning rate lr for optimizer step t (1-based). */
  trainStep(lr: number, t: number): void {
    setAdamWStep(this.core.device, this.adamStepUniform, lr, t, this.adam);
    this.trainProgram.submit();
  }

  /** Queues forward + backward only (no optimizer update): for gradient checks. Recorded once, on first use. */
  forwardBackwardOnly(): void {
    if (!this.gradientProgram) {
      this.gradientProgram = this.core.program();
      this.recordGradients(this.gradientProgram);
    }
    this.gradientProgram.submit();
  }

  /** Grad norm (unscaled), whether the last step was skipped (overflow), and the loss scale. */
  async readStats(): Promise<{ gradNorm: number; skipped: boolean; lossScale: number }> {
    const s = await download(this.core.device, this.stats);
    return { gradNorm: s[STATS.norm], skipped: s[STATS.skip] !== 0, lossScale: s[STATS.scale] };
  }

  /** Restores the loss scale and its good-step counter (from a checkpoint). */
  setLossScaleState(scale: number, goodSteps: number): void {
    const s = initialStats(scale);
    s[STATS.goodSteps] = goodSteps;
    upload(this.core.device, this.stats, s);
  }

  async lossScaleState(): Promise<{ scale: number; goodSteps: number }> {
    const s = await download(this.core.device, this.stats);
    return { scale: s[STATS.scale], goodSteps: s[STATS.goodSteps] };
  }

  setOptimizerState(m: Float32Array, v: Float32Array): void {
    const w = this.core.weights;
    if (m.length !== this.layout.totalFloats || v.length !== this.layout.totalFloats) throw new Error('optimizer state size mismatch');
    upload(this.core.device, w.m!, m);
    upload(this.core.device, w.v!, v);
  }

  async readFlat(which: 'params' | 'grads' | 'm' | 'v'): Promise<Float32Array> {
    return download(this.core.device, this.flat(which));
  }

  /** The flat f32 buffer of the parameters, gradients or an AdamW moment (in the layout's order). */
  flat(which: 'params' | 'grads' | 'm' | 'v'): Tensor {
    const w = this.core.weights;
    return (which === 'params' ? w.params : which === 'grads' ? w.grads : which === 'm' ? w.m : w.v)!;
  }
}
