// Records the forward pass and the loss: embedding, layers (attention and FFN sublayers), final norm, and the LM
// head with cross-entropy over row chunks. In training the head's backward runs per chunk too (the logits buffer
// only ever holds one chunk), so recordForward takes the head's gradient buffers when it records for training.
import type { Program } from '../gpu/program';
import { bytesPerElement, type Tensor } from '../gpu/tensor';
import { type ModelConfig, headDim } from './config';
import { blocksShape, ffnChunkRows, type Allocated, type BackwardPlan, type ForwardPlan, type LayerPlan, type TensorSpec } from './plan';
import type { ParameterBuffers } from './weights';
import { enterSublayer, finishSublayer, makeOperand, projectAndAdd } from './blocks';
import { linearForward, linearForwardFused, linearBackwardInput, linearBackwardWeight, type LinearShape } from '../kernels/linear';
import { embeddingForward } from '../kernels/embedding';
import { rope } from '../kernels/rope';
import { swigluForward, swigluForwardHalf, siluForward } from '../kernels/ffn-activation';
import { attentionForward, projectionLayout } from '../kernels/attention';
import { crossEntropyForwardBackward, crossEntropyReduce } from '../kernels/cross-entropy';
import { rmsnormForward, rmsnormForwardHalf } from '../kernels/rmsnorm';

/** What the record functions need besides the plan: the config, the batch shape and the parameters. */
export interface ModelParts {
  cfg: ModelConfig;
  batchSize: number;
  seqLen: number;
  weights: ParameterBuffers;
  /** Rows of logits per LM-head chunk. */
  chunkRows: number;
  maxBindingBytes: number;
}

/** The training extras of the forward: where the head's gradients go, and the loss-scale stats. */
export interface HeadTraining {
  backward: Allocated<BackwardPlan<TensorSpec>>;
  /** Optimizer stats (its scale slot multiplies the loss gradient). */
  stats: Tensor;
}

export const rowsOf = (m: ModelParts): number => m.batchSize * m.seqLen;
export const headName = (c: ModelConfig): string => (c.tie_embeddings ? 'token_embeddings.weight' : 'lm_head.weight');
export const lin = (rows: number, inFeatures: number, outFeatures: number): LinearShape => ({ rows, inFeatures, outFeatures });
export const normArgs = (m: ModelParts) => ({ rows: rowsOf(m), D: m.cfg.d_model, eps: m.cfg.rmsnorm_eps });
/** The attention projections that fused GEMMs treat as one, in parameter order. */
export const QKV = ['q_proj', 'k_proj', 'v_proj'] as const;
/** The FFN's input projections that fused GEMMs treat as one (stored adjacent: parameters.ts storageOrder). */
export const W13 = ['w1', 'w3'] as const;

/**
 * Whether the q/k/v projections run as one GEMM where they can (forward, backward_input and, unless
 * LMWB_FUSE_QKV_BW=0, backward_weight; LMWB_FUSE_QKV=0: three GEMMs each, for comparisons). On the H200 (BENCHMARKS.md,
 * "GEMM round 5") the three fused GEMMs of a layer take 0.96 ms against 1.12 ms for the nine.
 */
export function fuseQkv(): boolean {
  return process.env.LMWB_FUSE_QKV !== '0';
}

/**
 * The row ranges [r0, rows] the FFN sublayer is recorded in: one range of every row, unless its [rows, d_ff]
 * activations exceed the binding limit (plan.ts ffnChunkRows: then they are never bound whole).
 */
export function ffnChunks(m: ModelParts): Array<[number, number]> {
  const BT = rowsOf(m);
  const R = ffnChunkRows(m.cfg.d_ff, BT, m.maxBindingBytes);
  const out: Array<[number, number]> = [];
  for (let r0 = 0; r0 < BT; r0 += R) out.push([r0, Math.min(R, BT - r0)]);
  return out;
}

/**
 * Rows r0 .. r0 + rows − 1 of [BT, width] tensors as tensors of their own (the tensor itself for all rows). One view
 * per tensor, so that operands that are one tensor (an f32 GEMM operand and its value) stay one in the chunk.
 */
export function chunkView(r0: number, rows: number, BT: number): (t: Tensor) => Tensor {
  const views = new Map<Tensor, Tensor>();
  return (t) => {
    if (rows === BT) return t;
    if (t.shape.length !== 2 || t.shape[0] !== BT) throw new Error(`row chunk of ${t.label}: shape [${t.shape}] is not [${BT}, width]`);
    let view = views.get(t);
    if (!view) {
      const width = t.shape[1];
      view = { buffer: t.buffer, byteOffset: t.byteOffset + r0 * width * bytesPerElement(t.dtype), shape: [rows, width], dtype: t.dtype, label: `${t.label} [${r0}..${r0 + rows})` };
      views.set(t, view);
    }
    return view;
  };
}

export const attentionShape = (m: ModelParts) => projectionLayout(m.batchSize, m.seqLen, m.cfg.num_heads, headDim(m.cfg));

function recordLayer(p: Program, m: ModelParts, plan: Allocated<ForwardPlan<TensorSpec>>, layer: Allocated<LayerPlan<TensorSpec>>, l: number): void {
  const c = m.cfg;
  const BT = rowsOf(m);
  const d = c.d_model;
  const w = m.weights;
  const norm = normArgs(m);
  const att = attentionShape(m);
  const L = `layers.${l}.`;
  // Attention sublayer.
  const A = layer.attn;
  const ain = enterSublayer(p, w, norm, A);
  // q, k and v in one GEMM where they are blocks of one buffer and their weights adjacent (mixed precision), else three.
  const qkvW = A.qkv && fuseQkv() ? w.gemmWeightRun(QKV.map((n) => `${L}attn.${n}.weight`)) : undefined;
  if (!(qkvW && linearForwardFused(p, blocksShape(BT, d, d, 3), ain, qkvW, A.qkv!, 'linear_forward q|k|v'))) {
    linearForward(p, lin(BT, d, d), ain, w.gemmWeight(`${L}attn.q_proj.weight`), A.q);
    linearForward(p, lin(BT, d, d), ain, w.gemmWeight(`${L}attn.k_proj.weight`), A.k);
    linearForward(p, lin(BT, d, d), ain, w.gemmWeight(`${L}attn.v_proj.weight`), A.v);
  }
  if (plan.rope) {
    rope(p, att, A.q, plan.rope.positions, plan.rope.cos, plan.rope.sin, false);
    rope(p, att, A.k, plan.rope.positions, plan.rope.cos, plan.rope.sin, false);
  }
  attentionForward(p, att, A.q, A.k, A.v, A.out.value!, A.lse);
  projectAndAdd(p, A, (t) => t, lin(BT, d, d), makeOperand(p, A.out), w.gemmWeight(`${L}attn.output_proj.weight`), A.proj);
  finishSublayer(p, w, norm, A);
  // FFN sublayer.
  const F = layer.ffn;
  const fin = enterSublayer(p, w, norm, F);
  // In row chunks where a [rows, d_ff] activation exceeds the binding limit (each chunk binds its rows only).
  for (const [r0, rows] of ffnChunks(m)) {
    const v = chunkView(r0, rows, BT);
    const a = v(F.a);
    const b = F.b && v(F.b);
    const hidden = { value: F.hidden.value && v(F.hidden.value), gemm: v(F.hidden.gemm) };
    const n = rows * c.d_ff;
    // w1 and w3 as one GEMM into a|b where they are blocks of one buffer and their weights adjacent (mixed precision;
    // the plan has a|b only where the sublayer is one row chunk: plan.ts ffnFusable).
    const abW = F.ab ? w.gemmWeightRun(W13.map((n) => `${L}ffn.${n}.weight`)) : undefined;
    const fused = !!abW && linearForwardFused(p, blocksShape(BT, d, c.d_ff, 2), fin, abW, F.ab!, 'linear_forward w1|w3');
    if (!fused) linearForward(p, lin(rows, d, c.d_ff), v(fin), w.gemmWeight(`${L}ffn.w1.weight`), a);
    if (F.activation === 'swiglu') {
      if (!fused) linearForward(p, lin(rows, d, c.d_ff), v(fin), w.gemmWeight(`${L}ffn.w3.weight`), b!);
      // Without an f32 hidden in the plan the gate writes w2's f16 operand directly (fused cast).
      if (hidden.value) swigluForward(p, n, a, b!, hidden.value);
      else swigluForwardHalf(p, n, a, b!, hidden.gemm);
    } else {
      siluForward(p, n, a, hidden.value!);
    }
    projectAndAdd(p, F, v, lin(rows, c.d_ff, d), makeOperand(p, hidden), w.gemmWeight(`${L}ffn.w2.weight`), F.proj);
  }
  finishSublayer(p, w, norm, F);
}

/**
 * Forward and loss (row losses and their mean). With `train`, cross-entropy also writes the loss gradient and the
 * LM head's backward runs per chunk: the head weight's gradient accumulates (gradients are zeroed at the start of
 * the step) and d loss/d head input lands in train.backward.dHeadIn.
 */
export function recordForward(p: Program, m: ModelParts, plan: Allocated<ForwardPlan<TensorSpec>>, train?: HeadTraining): void {
  const c = m.cfg;
  const BT = rowsOf(m);
  const d = c.d_model;
  const w = m.weights;
  w.recordCast(p, m.maxBindingBytes);
  embeddingForward(p, { rows: BT, D: d, vocab: c.vocab_size }, plan.ids, w.weight('token_embeddings.weight'), plan.x[0]);
  plan.layers.forEach((layer, l) => recordLayer(p, m, plan, layer, l));
  if (plan.finalNorm) {
    // No f32 output in the plan: the norm writes the head's f16 operand directly.
    if (!plan.finalNorm.normed) rmsnormForwardHalf(p, normArgs(m), plan.x[c.num_layers], w.weight('ln_final.weight'), plan.headIn.gemm, plan.finalNorm.rstd);
    else rmsnormForward(p, normArgs(m), plan.x[c.num_layers], w.weight('ln_final.weight'), plan.finalNorm.normed, plan.finalNorm.rstd);
  }
  const head = w.gemmWeight(headName(c));
  const headIn = makeOperand(p, plan.headIn);
  const logits = plan.logits;
  const bw = train?.backward;
  for (let r0 = 0; r0 < BT; r0 += m.chunkRows) {
    const rows = Math.min(m.chunkRows, BT - r0);
    const s: LinearShape = { rows, inFeatures: d, outFeatures: c.vocab_size, xRow: r0, yRow: 0 };
    linearForward(p, s, headIn, head, logits, false, 'lm_head_forward');
    if (plan.logitsCapture) p.copy(logits.buffer, 0, plan.logitsCapture.buffer, r0 * c.vocab_size * 4, rows * c.vocab_size * 4, 'capture logits');
    // Mixed precision with an even vocabulary: the gradient straight into the f16 operand of the head's backward.
    const grad16 = bw?.dLogits16 && c.vocab_size % 2 === 0 ? bw.dLogits16 : undefined;
    crossEntropyForwardBackward(p, { rows, V: c.vocab_size, rowOffset: r0, totalRows: BT, writeGrad: !!train }, logits, plan.targets, plan.rowLoss, train?.stats ?? plan.loss, grad16);
    if (train && bw) {
      const dlogits = grad16 ?? makeOperand(p, { value: logits, gemm: bw.dLogits16 ?? logits }, rows * c.vocab_size);
      linearBackwardWeight(p, s, dlogits, headIn, w.grad(headName(c)), true, 'lm_head_backward_weight');
      linearBackwardInput(p, s, dlogits, head, bw.dHeadIn, false, 'lm_head_backward_input');
    }
  }
  crossEntropyReduce(p, BT, plan.rowLoss, plan.loss);
}
