// The model's parameters in CS336 order and names, laid out in one flat buffer (each tensor at a 512-byte
// boundary so it can be bound alone; w3 stored right after w1), and their initialisation.
import type { ModelConfig } from './config';
import { rngFor, STREAM_INIT, truncatedNormal } from '../rng';

export type InitKind = 'linear' | 'embedding' | 'gain';

export interface ParamSpec {
  name: string;
  shape: number[];
  init: InitKind;
}

export interface ParamSlot extends ParamSpec {
  /** Offset in floats inside the flat buffer (a multiple of SLOT_ALIGN_FLOATS). */
  offset: number;
  numel: number;
}

export function parameterSpecs(c: ModelConfig): ParamSpec[] {
  const d = c.d_model;
  const specs: ParamSpec[] = [{ name: 'token_embeddings.weight', shape: [c.vocab_size, d], init: 'embedding' }];
  for (let i = 0; i < c.num_layers; i++) {
    const p = `layers.${i}`;
    for (const n of ['q_proj', 'k_proj', 'v_proj', 'output_proj']) specs.push({ name: `${p}.attn.${n}.weight`, shape: [d, d], init: 'linear' });
    if (c.norm !== 'none') specs.push({ name: `${p}.ln1.weight`, shape: [d], init: 'gain' });
    specs.push({ name: `${p}.ffn.w1.weight`, shape: [c.d_ff, d], init: 'linear' });
    specs.push({ name: `${p}.ffn.w2.weight`, shape: [d, c.d_ff], init: 'linear' });
    if (c.ffn === 'swiglu') specs.push({ name: `${p}.ffn.w3.weight`, shape: [c.d_ff, d], init: 'linear' });
    if (c.norm !== 'none') specs.push({ name: `${p}.ln2.weight`, shape: [d], init: 'gain' });
  }
  if (c.norm !== 'none') specs.push({ name: 'ln_final.weight', shape: [d], init: 'gain' });
  if (!c.tie_embeddings) specs.push({ name: 'lm_head.weight', shape: [c.vocab_size, d], init: 'linear' });
  return specs;
}

export const SLOT_ALIGN_FLOATS = 128; // 512 bytes: an f16 copy of the flat buffer keeps every tensor 256-byte aligned too

export interface ParamLayout {
  slots: ParamSlot[];
  byName: Map<string, ParamSlot>;
  /** Total floats of the flat buffer including alignment padding. */
  totalFloats: number;
  /** Parameters without padding. */
  count: number;
}

/**
 * The order the parameters are stored in the flat buffer: CS336's, except that each layer's `ffn.w3` follows its
 * `ffn.w1` (so that w1 and w3 are one [2·d_ff, d_model] GEMM operand, and their gradients one output: forward.ts,
 * backward.ts). Names, initialisation streams and checkpoints keep CS336's order (the slots' order).
 */
function storageOrder(specs: ParamSpec[]): ParamSpec[] {
  const w3 = new Set(specs.filter((s) => s.name.endsWith('.ffn.w3.weight')).map((s) => s.name));
  const out: ParamSpec[] = [];
  for (const s of specs) {
    if (w3.has(s.name)) continue;
    out.push(s);
    const partner = s.name.endsWith('.ffn.w1.weight') ? specs.find((t) => t.name === s.name.replace(/\.w1\.weight$/, '.w3.weight')) : undefined;
    if (partner) out.push(partner);
  }
  for (const s of specs) if (w3.has(s.name) && !out.includes(s)) out.push(s);
  return out;
}

export function layoutParameters(specs: ParamSpec[]): ParamLayout {
  const offsets = new Map<string, number>();
  let offset = 0;
  let count = 0;
  for (const s of storageOrder(specs)) {
    const n = s.shape.reduce((a, b) => a * b, 1);
    offsets.set(s.name, offset);
    offset += Math.ceil(n / SLOT_ALIGN_FLOATS) * SLOT_ALIGN_FLOATS;
    count += n;
  }
  const slots: ParamSlot[] = specs.map((s) => ({ ...s, offset: offsets.get(s.name)!, numel: s.shape.reduce((a, b) => a * b, 1) }));
  return { slots, byName: new Map(slots.map((s) => [s.name, s])), totalFloats: offset, count };
}

/** CS336 initialisation: linear N(0, 2/(in+out)) truncated at ±3σ, embeddings N(0,1) truncated at ±3, gains 1. */
export function initParameters(layout: ParamLayout, seed: number): Float32Array {
  const flat = new Float32Array(layout.totalFloats);
  layout.slots.forEach((s, i) => {
    const view = flat.subarray(s.offset, s.offset + s.numel);
    const rng = rngFor(seed, STREAM_INIT, i);
    if (s.init === 'gain') view.fill(1);
    else if (s.init === 'embedding') truncatedNormal(rng, view, 1, 3);
    else truncatedNormal(rng, view, Math.sqrt(2 / (s.shape[0] + s.shape[1])), 3);
  });
  return flat;
}

/** Parameters outside the embedding and output head (the figure CS336 quotes, 17M for the TinyStories model). */
export function nonEmbeddingCount(layout: ParamLayout): number {
  return layout.slots.filter((s) => s.name !== 'token_embeddings.weight' && s.name !== 'lm_head.weight').reduce((a, s) => a + s.numel, 0);
}
