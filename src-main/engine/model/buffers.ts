// The GPU buffers a model needs for a given batch shape, planned before anything is allocated so that a batch
// that cannot fit is refused up front with the figures (what it needs, what the device allows).
import type { ModelConfig } from './config';
import { headDim } from './config';
import { bytesPerElement, type DType } from '../gpu/tensor';

export interface BufferPlan {
  name: string;
  shape: number[];
  /** Bound whole in one binding (must be within maxStorageBufferBindingSize). */
  bound: boolean;
  dtype: DType;
}

const INDEX_BUFFERS = new Set(['ids', 'targets', 'positions', 'seg_order', 'seg_start', 'seg_id', 'seg_meta']);

export interface PlanOptions {
  batchSize: number;
  seqLen: number;
  /** Largest logits chunk in bytes (rows of the LM head computed at a time). */
  logitsChunkBytes: number;
  maxBindingBytes: number;
  training: boolean;
  captureLogits?: boolean;
  /**
   * Mixed precision: f16 copies of the GEMM operands. Forward (kept for the backward): per layer the attention
   * input (ain16), attention output (o16), FFN input (fin16) and FFN hidden (h16), and the final norm (xf16).
   * Backward scratch, reused layer by layer: gd16 [BT, d], gf16 and gf16b [BT, d_ff], logits16 (one chunk). With
   * SwiGLU the f32 hidden h is not kept (the gate writes h16 directly).
   */
  halfCopies?: boolean;
}

export function logitsChunkRows(c: ModelConfig, rows: number, chunkBytes: number, maxBindingBytes: number): number {
  const perRow = c.vocab_size * 4;
  const fit = Math.max(1, Math.min(rows, Math.floor(Math.min(chunkBytes, maxBindingBytes) / perRow)));
  // Whole 128-row GEMM tiles where the chunk is large enough (no edge tiles in the LM head's matmuls).
  return fit < rows && fit >= 128 ? fit - (fit % 128) : fit;
}

/** Activation and scratch buffers (parameters and optimizer state are separate: see parameterBytes). */
export function planActivations(c: ModelConfig, o: PlanOptions): BufferPlan[] {
  const BT = o.batchSize * o.seqLen;
  const d = c.d_model;
  const f = c.d_ff;
  const bhT = [o.batchSize * c.num_heads * o.seqLen];
  const plans: BufferPlan[] = [];
  const add = (name: string, shape: number[], dtype: DType = INDEX_BUFFERS.has(name) ? 'u32' : 'f32') => plans.push({ name, shape, bound: true, dtype });
  for (let l = 0; l <= c.num_layers; l++) add(`x${l}`, [BT, d]);
  for (let l = 0; l < c.num_layers; l++) {
    const p = `layers.${l}.`;
    if (c.norm === 'pre') { add(`${p}n1`, [BT, d]); add(`${p}n2`, [BT, d]); }
    if (c.norm === 'post') { add(`${p}s1`, [BT, d]); add(`${p}s2`, [BT, d]); }
    if (c.norm !== 'none') { add(`${p}r1`, [BT]); add(`${p}r2`, [BT]); }
    for (const n of ['q', 'k', 'v', 'o']) add(`${p}${n}`, [BT, d]);
    add(`${p}lse`, bhT);
    add(`${p}xmid`, [BT, d]);
    add(`${p}a`, [BT, f]);
    if (c.ffn === 'swiglu') add(`${p}b`, [BT, f]);
    if (!(o.halfCopies && c.ffn === 'swiglu')) add(`${p}h`, [BT, f]); // mixed + SwiGLU: only h16
  }
  if (c.norm !== 'none') { add('xf', [BT, d]); add('rf', [BT]); }
  add('proj', [BT, d]);
  add('logits', [logitsChunkRows(c, BT, o.logitsChunkBytes, o.maxBindingBytes), c.vocab_size]);
  if (o.captureLogits) add('logits_capture', [BT, c.vocab_size]);
  add('row_loss', [BT]);
  add('loss', [4]);
  add('ids', [BT]);
  add('targets', [BT]);
  if (c.pos === 'rope') {
    add('positions', [o.seqLen]);
    add('rope_cos', [c.context_length, headDim(c) / 2]);
    add('rope_sin', [c.context_length, headDim(c) / 2]);
  }
  if (o.halfCopies) {
    for (let l = 0; l < c.num_layers; l++) {
      const p = `layers.${l}.`;
      add(`${p}ain16`, [BT, d], 'f16');
      add(`${p}o16`, [BT, d], 'f16');
      add(`${p}fin16`, [BT, d], 'f16');
      add(`${p}h16`, [BT, f], 'f16');
    }
    add('xf16', [BT, d], 'f16');
    if (o.training) {
      add('gd16', [BT, d], 'f16');
      add('gf16', [BT, f], 'f16');
      if (c.ffn === 'swiglu') add('gf16b', [BT, f], 'f16');
      add('logits16', [logitsChunkRows(c, BT, o.logitsChunkBytes, o.maxBindingBytes), c.vocab_size], 'f16');
    }
  }
  if (o.training) {
    add('G', [BT, d]);
    add('dxf', [BT, d]);
    add('dN', [BT, d]);
    add('dO', [BT, d]);
    add('dq', [BT, d]);
    add('dk', [BT, d]);
    add('dv', [BT, d]);
    add('dh', [BT, f]);
    if (c.norm === 'post') add('S', [BT, d]);
    add('dsum', bhT);
    if (c.norm !== 'none') add('norm_partial', [Math.ceil(BT / 128) * d]);
    add('seg_order', [BT]);
    add('seg_start', [BT + 1]);
    add('seg_id', [BT]);
    add('seg_meta', [4]);
  }
  return plans;
}

export const bytesOf = (p: BufferPlan): number => p.shape.reduce((a, b) => a * b, 1) * bytesPerElement(p.dtype);

/** Parameters, gradients and the two AdamW moments: four flat buffers of `totalFloats` (plus an f16 copy of the parameters in mixed precision). */
export function parameterBytes(totalFloats: number, training: boolean, halfCopy = false): number {
  return totalFloats * 4 * (training ? 4 : 1) + (halfCopy ? totalFloats * 2 : 0);
}
