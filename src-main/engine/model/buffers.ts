// The GPU buffers a model needs for a given batch shape, planned before anything is allocated so that a batch
// that cannot fit is refused up front with the figures (what it needs, what the device allows).
import type { ModelConfig } from './config';
import { headDim } from './config';

export interface BufferPlan {
  name: string;
  shape: number[];
  /** Bound whole in one binding (must be within maxStorageBufferBindingSize). */
  bound: boolean;
}

export interface PlanOptions {
  batchSize: number;
  seqLen: number;
  /** Largest logits chunk in bytes (rows of the LM head computed at a time). */
  logitsChunkBytes: number;
  maxBindingBytes: number;
  training: boolean;
  captureLogits?: boolean;
}

export function logitsChunkRows(c: ModelConfig, rows: number, chunkBytes: number, maxBindingBytes: number): number {
  const perRow = c.vocab_size * 4;
  return Math.max(1, Math.min(rows, Math.floor(Math.min(chunkBytes, maxBindingBytes) / perRow)));
}

/** Activation and scratch buffers (parameters and optimizer state are separate: see parameterBytes). */
export function planActivations(c: ModelConfig, o: PlanOptions): BufferPlan[] {
  const BT = o.batchSize * o.seqLen;
  const d = c.d_model;
  const f = c.d_ff;
  const bhT = [o.batchSize * c.num_heads * o.seqLen];
  const plans: BufferPlan[] = [];
  const add = (name: string, shape: number[]) => plans.push({ name, shape, bound: true });
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
    add(`${p}h`, [BT, f]);
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

export const bytesOf = (p: BufferPlan): number => p.shape.reduce((a, b) => a * b, 1) * 4;

/** Parameters, gradients and the two AdamW moments: four flat buffers of `totalFloats`. */
export function parameterBytes(totalFloats: number, training: boolean): number {
  return totalFloats * 4 * (training ? 4 : 1);
}
