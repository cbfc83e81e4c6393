// The GPU buffers a model needs for a given batch shape, as a typed plan: every activation is a named field (per
// layer: plan.layers[l].attn.q, plan.layers[l].ffn.a; plan.logits), never a string looked up later. The model's
// variants (norm placement, FFN, f16 operand copies) are decided here, once: a GEMM operand is a pair (the value a
// kernel writes, the tensor the GEMM reads: an f16 copy in mixed precision, the value itself in f32), and the
// residual sublayers say where their norm sits. The plan is made of TensorSpecs and sized before anything is
// allocated, so a batch that cannot fit is refused up front with the figures; allocatePlan turns it into tensors.
import type { ModelConfig } from './config';
import { headDim } from './config';
import { dsScratchElements } from '../kernels/attention-f16';
import { embeddingCapacity } from '../kernels/embedding';
import type { FusedShape } from '../kernels/linear';
import { bytesPerElement, createTensor, numel, type DType, type Tensor } from '../gpu/tensor';

/** One buffer of the plan (bound whole in one binding: at most maxStorageBufferBindingSize). */
export interface TensorSpec {
  readonly kind: 'tensor';
  name: string;
  shape: number[];
  dtype: DType;
  /** A view: `shape` at element `offset` of another planned buffer (no memory of its own). */
  view?: { of: TensorSpec; offset: number };
  /**
   * Never bound whole: kernels bind it this many rows at a time (the FFN's [rows, d_ff] activations, recorded in row
   * chunks where one would exceed the binding limit: ffnChunkRows), so only maxBufferSize limits it.
   */
  rowChunks?: number;
}

/**
 * Rows of the FFN sublayer recorded at a time: all of them, unless a [rows, d_ff] f32 activation would exceed
 * the binding limit; then the most rows (a multiple of 128, so that every chunk's views start 256-byte aligned in
 * f32 and f16) that fit one binding.
 */
export function ffnChunkRows(dFF: number, rows: number, maxBindingBytes: number): number {
  if (rows * dFF * 4 <= maxBindingBytes) return rows;
  return Math.max(128, Math.floor(maxBindingBytes / (dFF * 4) / 128) * 128);
}

/**
 * A GEMM operand. `value` is what the producing kernel writes (f32); `gemm` is what the GEMMs read: the same tensor
 * in f32, an f16 copy in mixed precision (made by cast.wgsl, or written directly by a fused kernel: then `value` is
 * absent, as for the SwiGLU output in mixed precision).
 */
export interface Operand<T> {
  value?: T;
  gemm: T;
}

/** Where a residual sublayer's RMSNorm sits (CS336 §7 ablations): pre: x + f(Norm x); post: Norm(x + f(x)); none. */
export type Residual<T> =
  | { kind: 'none' }
  | { kind: 'pre'; /** gain parameter */ weight: string; /** f32 output; absent where the norm writes only the branch's f16 operand */ normed?: T; rstd: T }
  | { kind: 'post'; weight: string; /** x + f(x), before the norm */ sum: T; rstd: T };

/** A residual sublayer: output = input + branch(branch input), with the norm where `residual` says. */
export interface Sublayer<T> {
  /** The residual stream entering (x_l, or the mid-layer stream for the FFN). */
  input: T;
  /** The stream leaving. */
  output: T;
  residual: Residual<T>;
  /** What the branch reads: the normed input (pre) or the input itself, as a GEMM operand. */
  branchIn: Operand<T>;
}

export interface AttentionSublayer<T> extends Sublayer<T> {
  q: T; k: T; v: T;
  /** Mixed precision: the one buffer that q, k and v are views of, qkvStride elements apart (one fused GEMM writes them). */
  qkv?: T;
  /** Attention output (before the output projection), as the projection's operand. */
  out: Operand<T>;
  /** Row log-sum-exp [B, H, T], kept for the backward. */
  lse: T;
  /** Output projection (the branch's output), before the residual add. */
  proj: T;
}

export interface FfnSublayer<T> extends Sublayer<T> {
  activation: 'swiglu' | 'silu';
  /** x·W1ᵀ (the gate input); the f32 backward overwrites it with its gradient. */
  a: T;
  /** x·W3ᵀ (SwiGLU only). */
  b?: T;
  /** Mixed precision + SwiGLU, one row chunk: the one buffer that a and b are views of, qkvStride(BT, d_ff) apart (one fused GEMM writes them). */
  ab?: T;
  /** The activation's output, as w2's operand (mixed + SwiGLU: only its f16 form, written by the gate). */
  hidden: Operand<T>;
  proj: T;
}

export interface LayerPlan<T> {
  attn: AttentionSublayer<T>;
  ffn: FfnSublayer<T>;
}

export interface ForwardPlan<T> {
  ids: T;
  targets: T;
  /** The residual stream entering layer l (x[num_layers]: after the last layer, before the final norm). */
  x: T[];
  layers: LayerPlan<T>[];
  /** Final norm (absent for norm 'none': the head reads x[num_layers]). */
  /** normed absent where the norm writes only the head's f16 operand (headIn.gemm). */
  finalNorm?: { normed?: T; rstd: T };
  /** The head's input as its operand. */
  headIn: Operand<T>;
  /** One chunk of logits [chunkRows, vocab]. */
  logits: T;
  logitsCapture?: T;
  rowLoss: T;
  loss: T;
  rope?: { positions: T; cos: T; sin: T };
}

/** Gradient roles of one residual sublayer in the backward (see model/blocks.ts). */
export interface SublayerGrads<T> {
  /** Holds d loss/d output when the sublayer's backward starts. */
  out: T;
  /** Holds d loss/d input when it ends. */
  in: T;
  /** Where the branch writes d loss/d branch input: pre: the norm scratch; else `in` itself (accumulated). */
  branchIn: T;
  /** Whether the branch's first input gradient accumulates onto branchIn (it already holds the residual path). */
  accumulateBranchIn: boolean;
}

export interface BackwardPlan<T> {
  /** Gradient at the head's input (d loss/d final-norm output, or d loss/d x[L] without a final norm). */
  dHeadIn: T;
  /** Gradient of the residual stream (d loss/d x[L], …, d loss/d x[0]). */
  dStream: T;
  layers: Array<{ attn: SublayerGrads<T>; ffn: SublayerGrads<T> }>;
  /** GEMM operand copies of the gradients (mixed precision: f16 scratch reused layer by layer; f32: unused). */
  dOut16?: T;
  dHidden16?: T;
  dHidden16b?: T;
  dLogits16?: T;
  dAttnOut: T;
  dq: T; dk: T; dv: T;
  /** Mixed precision: f16 copies of dq, dk, dv in one buffer, qkvStride elements apart (the fused GEMMs' operand), and views of its blocks. */
  dqkv16?: { all: T; blocks: [T, T, T] };
  /** Mixed precision + SwiGLU, one row chunk: dHidden16 and dHidden16b as the blocks of this one f16 buffer (the fused w1|w3 GEMMs' operand). */
  dab16?: T;
  dHidden: T;
  dsum: T;
  /** Mixed precision, T a multiple of 16: the attention backward's f16 dS scratch [B·H·T·T], reused layer by layer (kernels/attention-f16.ts). */
  dsT?: T;
  normPartial?: T;
  /** The embedding backward's grouping of the batch by token id (kernels/embedding.ts). */
  segments: { order: T; chunkStart: T; chunkDest: T; longId: T; longSlot: T; meta: T; partial: T };
}

export interface TrainingPlan<T> extends ForwardPlan<T> {
  backward: BackwardPlan<T>;
}

/** A plan with its TensorSpecs replaced by allocated tensors (aliases stay aliases). */
export type Allocated<P> = P extends TensorSpec ? Tensor : P extends string | number | boolean | undefined ? P : P extends Array<infer E> ? Allocated<E>[] : { [K in keyof P]: Allocated<P[K]> };

export interface PlanOptions {
  batchSize: number;
  seqLen: number;
  /** Largest logits chunk in bytes (rows of the LM head computed at a time). */
  logitsChunkBytes: number;
  maxBindingBytes: number;
  captureLogits?: boolean;
  /** Mixed precision: f16 copies of the GEMM operands. */
  halfOperands: boolean;
}

/**
 * The default budget for one chunk of f32 logits (the LM head and the loss run over row chunks of at most this
 * many bytes): 1.5 GiB, the whole batch of the CS336 model at batch 128 (1.31 GB; PyTorch's eager step holds all
 * logits too), in chunks beyond that. Fewer, larger chunks keep the LM head's GEMMs wide: at batch 128 on the H200
 * one chunk saves 0.6 ms of GEMM time a step against 256 MiB chunks, for 1.5 GB more memory (BENCHMARKS.md, round 8).
 * LMWB_LOGITS_CHUNK_MB sets another (small GPUs: less memory for the same batch).
 */
export function defaultLogitsChunkBytes(): number {
  const mb = Number(process.env.LMWB_LOGITS_CHUNK_MB);
  return (mb > 0 ? mb : 1536) * 2 ** 20;
}

export function logitsChunkRows(c: ModelConfig, rows: number, chunkBytes: number, maxBindingBytes: number): number {
  const perRow = c.vocab_size * 4;
  const fit = Math.max(1, Math.min(rows, Math.floor(Math.min(chunkBytes, maxBindingBytes) / perRow)));
  // Whole 128-row GEMM tiles where the chunk is large enough (no edge tiles in the LM head's matmuls).
  return fit < rows && fit >= 128 ? fit - (fit % 128) : fit;
}

class SpecList {
  readonly all: TensorSpec[] = [];
  private readonly byName = new Map<string, TensorSpec>();
  add(name: string, shape: number[], dtype: DType = 'f32'): TensorSpec {
    const s: TensorSpec = { kind: 'tensor', name, shape, dtype };
    this.all.push(s);
    return s;
  }
  /** A view of `shape` at element `offset` of `of` (not a buffer: the plan's memory counts `of` only). */
  view(of: TensorSpec, offset: number, shape: number[], name: string): TensorSpec {
    if (of.view) throw new Error(`plan: a view of the view ${of.name}`);
    if (offset + numel(shape) > numel(of.shape)) throw new Error(`plan: view ${name} runs past the end of ${of.name}`);
    return { kind: 'tensor', name, shape, dtype: of.dtype, view: { of, offset } };
  }
  /** The buffer of this name, made on first use (one scratch for a role that every layer reuses). */
  shared(name: string, shape: number[], dtype: DType = 'f32'): TensorSpec {
    let s = this.byName.get(name);
    if (!s) this.byName.set(name, (s = this.add(name, shape, dtype)));
    return s;
  }
}

/** The planned buffers: the typed layout and the list of distinct buffers in it. */
export interface Planned<P> {
  plan: P;
  buffers: TensorSpec[];
}

/**
 * The forward's buffers. Training keeps every layer's activations for the backward; a forward-only plan
 * (`shareLayers`) reuses one set of layer scratch for all layers (only the residual stream is kept per layer).
 */
function planForward(c: ModelConfig, o: PlanOptions, specs: SpecList, shareLayers: boolean): ForwardPlan<TensorSpec> {
  const BT = o.batchSize * o.seqLen;
  const d = c.d_model;
  const f = c.d_ff;
  const half = o.halfOperands;
  const add = specs.add.bind(specs);
  const ffnRows = ffnChunkRows(f, BT, o.maxBindingBytes);
  // q, k, v as blocks of one buffer only where that buffer fits one binding (the fused GEMM binds it whole).
  const fuseQkv = half && 3 * qkvStride(BT, d) * 4 <= o.maxBindingBytes;
  const fuseFfn = ffnFusable(c, o);
  const operand = (value: TensorSpec, half16: () => TensorSpec): Operand<TensorSpec> => ({ value, gemm: half ? half16() : value });
  const normsWriteHalf = half && d % 2 === 0;
  const x = Array.from({ length: c.num_layers + 1 }, (_, l) => add(`x${l}`, [BT, d]));
  const proj = add('proj', [BT, d]);
  const layers: LayerPlan<TensorSpec>[] = [];
  for (let l = 0; l < c.num_layers; l++) {
    const p = `layers.${l}.`;
    // A layer's own buffer, or (forward only) the one scratch buffer of that role shared by all layers.
    const own = (name: string, shape: number[], dtype: DType = 'f32') => (shareLayers ? specs.shared(`layer.${name}`, shape, dtype) : add(`${p}${name}`, shape, dtype));
    const sublayer = (which: 1 | 2, input: TensorSpec, output: TensorSpec): Sublayer<TensorSpec> => {
      const weight = `${p}ln${which}.weight`;
      const copy16 = () => own(which === 1 ? 'ain16' : 'fin16', [BT, d], 'f16');
      if (c.norm === 'pre') {
        // Mixed precision (even d): the norm writes only the f16 operand (rmsnorm_forward_half): no f32 output, no cast.
        const normed = normsWriteHalf ? undefined : own(`n${which}`, [BT, d]);
        const branchIn = normed ? operand(normed, copy16) : { gemm: copy16() };
        return { input, output, residual: { kind: 'pre', weight, normed, rstd: own(`r${which}`, [BT]) }, branchIn };
      }
      const residual: Residual<TensorSpec> = c.norm === 'post' ? { kind: 'post', weight, sum: own(`s${which}`, [BT, d]), rstd: own(`r${which}`, [BT]) } : { kind: 'none' };
      return { input, output, residual, branchIn: operand(input, copy16) };
    };
    const mid = own('xmid', [BT, d]);
    // Mixed precision: q, k, v as the three blocks of one buffer, written by one GEMM (forward.ts).
    const qkv = fuseQkv ? own('qkv', [3 * qkvStride(BT, d)]) : undefined;
    const qkvPart = (j: number, name: string) => (qkv ? specs.view(qkv, j * qkvStride(BT, d), [BT, d], `${p}${name}`) : own(name, [BT, d]));
    const attn: AttentionSublayer<TensorSpec> = {
      ...sublayer(1, x[l], mid),
      q: qkvPart(0, 'q'), k: qkvPart(1, 'k'), v: qkvPart(2, 'v'), qkv,
      out: operand(own('o', [BT, d]), () => own('o16', [BT, d], 'f16')),
      lse: own('lse', [o.batchSize * c.num_heads * o.seqLen]),
      proj,
    };
    const swiglu = c.ffn === 'swiglu';
    // Mixed precision with SwiGLU: the gate writes only the f16 operand of w2 (no f32 hidden).
    const wide = (name: string, dtype: DType = 'f32') => chunkedRows(own(name, [BT, f], dtype), ffnRows);
    const hidden: Operand<TensorSpec> = half && swiglu ? { gemm: wide('h16', 'f16') } : operand(wide('h'), () => wide('h16', 'f16'));
    // Mixed precision + SwiGLU in one row chunk: a and b as the two blocks of one buffer, written by one GEMM.
    const ab = fuseFfn ? own('ab', [2 * qkvStride(BT, f)]) : undefined;
    const abPart = (j: number, name: string) => (ab ? specs.view(ab, j * qkvStride(BT, f), [BT, f], `${p}${name}`) : wide(name));
    const ffn: FfnSublayer<TensorSpec> = {
      ...sublayer(2, mid, x[l + 1]),
      activation: c.ffn, a: abPart(0, 'a'), b: swiglu ? abPart(1, 'b') : undefined, ab, hidden, proj,
    };
    layers.push({ attn, ffn });
  }
  const finalNorm = c.norm !== 'none' ? { normed: normsWriteHalf ? undefined : add('xf', [BT, d]), rstd: add('rf', [BT]) } : undefined;
  const plan: ForwardPlan<TensorSpec> = {
    ids: add('ids', [BT], 'u32'),
    targets: add('targets', [BT], 'u32'),
    x,
    layers,
    finalNorm,
    // Mixed precision with a final norm (even d): the norm writes the head's f16 operand directly.
    headIn: finalNorm && !finalNorm.normed ? { gemm: add('xf16', [BT, d], 'f16') } : operand(finalNorm?.normed ?? x[c.num_layers], () => add('xf16', [BT, d], 'f16')),
    logits: add('logits', [logitsChunkRows(c, BT, o.logitsChunkBytes, o.maxBindingBytes), c.vocab_size]),
    logitsCapture: o.captureLogits ? add('logits_capture', [BT, c.vocab_size]) : undefined,
    rowLoss: add('row_loss', [BT]),
    loss: add('loss', [4]),
    rope: c.pos === 'rope'
      ? { positions: add('positions', [o.seqLen], 'u32'), cos: add('rope_cos', [c.context_length, headDim(c) / 2]), sin: add('rope_sin', [c.context_length, headDim(c) / 2]) }
      : undefined,
  };
  return plan;
}

/** Buffers for evaluation and generation: no gradients, no backward scratch, one set of layer scratch. */
export function planForwardOnly(c: ModelConfig, o: PlanOptions): Planned<ForwardPlan<TensorSpec>> {
  const specs = new SpecList();
  const plan = planForward(c, o, specs, true);
  return { plan, buffers: specs.all };
}

/** Buffers for training: every layer's activations kept for the hand-written backward, plus its scratch. */
export function planTraining(c: ModelConfig, o: PlanOptions): Planned<TrainingPlan<TensorSpec>> {
  const specs = new SpecList();
  const fwd = planForward(c, o, specs, false);
  const BT = o.batchSize * o.seqLen;
  const d = c.d_model;
  const f = c.d_ff;
  const add = specs.add.bind(specs);
  const dHeadIn = add('dxf', [BT, d]);
  // Without a final norm the head's input is x[L] itself: its gradient is the stream's.
  const dStream = c.norm === 'none' ? dHeadIn : add('G', [BT, d]);
  const dNormed = c.norm === 'pre' ? add('dN', [BT, d]) : undefined;
  const dSum = c.norm === 'post' ? add('S', [BT, d]) : undefined;
  const grads = (which: 'attn' | 'ffn'): SublayerGrads<TensorSpec> => {
    if (c.norm === 'pre') return { out: dStream, in: dStream, branchIn: dNormed!, accumulateBranchIn: false };
    if (c.norm === 'post') {
      // Post-norm alternates two buffers: the FFN's output gradient is in dStream, the attention's in dSum.
      return which === 'ffn' ? { out: dStream, in: dSum!, branchIn: dSum!, accumulateBranchIn: true } : { out: dSum!, in: dStream, branchIn: dStream, accumulateBranchIn: true };
    }
    return { out: dStream, in: dStream, branchIn: dStream, accumulateBranchIn: true };
  };
  const half = o.halfOperands;
  const chunk = fwd.logits.shape;
  const cap = embeddingCapacity(BT);
  const ffnRows = ffnChunkRows(f, BT, o.maxBindingBytes);
  const dsShape = { B: o.batchSize, H: c.num_heads, T: o.seqLen };
  const dab16 = ffnFusable(c, o) ? add('dab16', [2 * qkvStride(BT, f)], 'f16') : undefined;
  const backward: BackwardPlan<TensorSpec> = {
    dHeadIn,
    dStream,
    layers: fwd.layers.map(() => ({ attn: grads('attn'), ffn: grads('ffn') })),
    dOut16: half ? add('gd16', [BT, d], 'f16') : undefined,
    dHidden16: dab16 ? specs.view(dab16, 0, [BT, f], 'gf16') : half ? chunkedRows(add('gf16', [BT, f], 'f16'), ffnRows) : undefined,
    dHidden16b: dab16 ? specs.view(dab16, qkvStride(BT, f), [BT, f], 'gf16b') : half && c.ffn === 'swiglu' ? chunkedRows(add('gf16b', [BT, f], 'f16'), ffnRows) : undefined,
    dab16,
    dLogits16: half ? add('logits16', chunk, 'f16') : undefined,
    dAttnOut: add('dO', [BT, d]),
    dq: add('dq', [BT, d]), dk: add('dk', [BT, d]), dv: add('dv', [BT, d]),
    dqkv16: half && 3 * qkvStride(BT, d) * 2 <= o.maxBindingBytes ? dqkv16(specs, BT, d) : undefined,
    dHidden: chunkedRows(add('dh', [BT, f]), ffnRows),
    dsum: add('dsum', [o.batchSize * c.num_heads * o.seqLen]),
    dsT: half && o.seqLen % 16 === 0 && dsScratchElements(dsShape) * 2 <= o.maxBindingBytes ? add('dsT', [dsScratchElements(dsShape)], 'f16') : undefined,
    normPartial: c.norm !== 'none' ? add('norm_partial', [Math.ceil(BT / 128) * d]) : undefined,
    segments: {
      order: add('seg_order', [BT], 'u32'), chunkStart: add('seg_chunk_start', [cap.chunks + 1], 'u32'), chunkDest: add('seg_chunk_dest', [cap.chunks], 'u32'),
      longId: add('seg_long_id', [cap.longs], 'u32'), longSlot: add('seg_long_slot', [cap.longs + 1], 'u32'), meta: add('seg_meta', [4], 'u32'),
      partial: add('seg_partial', [cap.slots, d]),
    },
  };
  return { plan: { ...fwd, backward }, buffers: specs.all };
}

/**
 * Elements from one block of a q/k/v buffer (AttentionSublayer.qkv, BackwardPlan.dqkv16) to the next, or (with d =
 * d_ff) of the FFN's a|b (FfnSublayer.ab, BackwardPlan.dab16): BT·d rounded up to 128, so that every block starts
 * 256-byte aligned (a storage binding's offset) in f32 and in f16.
 */
export function qkvStride(BT: number, d: number): number {
  return Math.ceil((BT * d) / 128) * 128;
}

/** The shape of a fused GEMM over `blocks` [BT, width] blocks of one buffer, qkvStride(BT, width) elements apart (q|k|v, a|b). */
export function blocksShape(BT: number, inFeatures: number, width: number, blocks: number): FusedShape {
  return { rows: BT, inFeatures, outFeatures: width, blocks, stride: qkvStride(BT, width) };
}

/**
 * Whether the FFN's w1 and w3 run as one GEMM each way: mixed precision, SwiGLU, the sublayer in one row chunk and
 * the f32 a|b buffer within one binding (the fused GEMM binds it whole); LMWB_FUSE_FFN=0 turns it off (comparisons).
 */
export function ffnFusable(c: ModelConfig, o: Pick<PlanOptions, 'batchSize' | 'seqLen' | 'maxBindingBytes' | 'halfOperands'>): boolean {
  const BT = o.batchSize * o.seqLen;
  return process.env.LMWB_FUSE_FFN !== '0' && !!o.halfOperands && c.ffn === 'swiglu' && ffnChunkRows(c.d_ff, BT, o.maxBindingBytes) >= BT && 2 * qkvStride(BT, c.d_ff) * 4 <= o.maxBindingBytes;
}

/** Marks a [rows, d_ff] buffer as bound `rows` at a time when that is less than all of it. */
function chunkedRows(s: TensorSpec, rows: number): TensorSpec {
  if (rows < s.shape[0]) s.rowChunks = rows;
  return s;
}

function dqkv16(specs: SpecList, BT: number, d: number): { all: TensorSpec; blocks: [TensorSpec, TensorSpec, TensorSpec] } {
  const all = specs.add('dqkv16', [3 * qkvStride(BT, d)], 'f16');
  const block = (j: number, name: string) => specs.view(all, j * qkvStride(BT, d), [BT, d], name);
  return { all, blocks: [block(0, 'dq16'), block(1, 'dk16'), block(2, 'dv16')] };
}

export const bytesOf = (s: TensorSpec): number => numel(s.shape) * bytesPerElement(s.dtype);

/** Parameters (plus gradients and the two AdamW moments when training): flat buffers of `totalFloats`, and an f16 copy of the parameters in mixed precision. */
export function parameterBytes(totalFloats: number, training: boolean, halfCopy = false): number {
  return totalFloats * 4 * (training ? 4 : 1) + (halfCopy ? totalFloats * 2 : 0);
}

/**
 * Allocates every buffer of a plan (`owned` receives each new tensor, so a caller can release them all, also when a
 * later step throws) and returns the plan with tensors in place of specs.
 */
export function allocatePlan<P>(device: GPUDevice, planned: Planned<P>, owned: Tensor[]): Allocated<P> {
  const made = new Map<TensorSpec, Tensor>();
  for (const s of planned.buffers) {
    const t = createTensor(device, s.shape, s.name, s.dtype);
    owned.push(t);
    made.set(s, t);
  }
  const walk = (v: unknown): unknown => {
    if (v === null || typeof v !== 'object') return v;
    if ((v as TensorSpec).kind === 'tensor') {
      const spec = v as TensorSpec;
      let t = made.get(spec);
      if (!t && spec.view) {
        const base = made.get(spec.view.of);
        if (base) made.set(spec, (t = { buffer: base.buffer, byteOffset: base.byteOffset + spec.view.offset * bytesPerElement(spec.dtype), shape: spec.shape, dtype: spec.dtype, label: spec.name }));
      }
      if (!t) throw new Error(`plan: ${spec.name} is not in the buffer list`);
      return t;
    }
    if (Array.isArray(v)) return v.map(walk);
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
  };
  return walk(planned.plan) as Allocated<P>;
}
