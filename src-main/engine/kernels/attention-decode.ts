// attention_decode.wgsl: KV-cache decoding kernels. ropeAppend rotates the new tokens' q and k (absolute
// positions) and appends k, v to the layer's cache; attentionDecode attends the new tokens to the cache; argmaxRows
// picks the greedy next id of each sequence on the GPU. The chunk's first position comes from a per-step uniform
// (decodeStepUniform / writeDecodeStep), so a program recorded once serves every step.
import { type Program, uniformBuffer, writeUniform, elemGrid } from '../gpu/program';
import { bind, type Tensor } from '../gpu/tensor';

export interface DecodeShape {
  /** Sequences decoded together. */
  B: number;
  /** New tokens per sequence in this chunk (1 for a decode step, the prompt length for a prefill). */
  n: number;
  H: number;
  dk: number;
  /** Cache capacity in positions (the model's context length). */
  Tmax: number;
  rope: boolean;
}

/** The per-step uniform: the chunk's first absolute position and the token slot argmaxRows writes. */
export function decodeStepUniform(device: GPUDevice): GPUBuffer {
  return uniformBuffer(device, [['u32', 0], ['u32', 0], ['u32', 0], ['u32', 0]], 'decode step');
}

export function writeDecodeStep(device: GPUDevice, buf: GPUBuffer, pos: number, slot = 0): void {
  writeUniform(device, buf, [['u32', pos], ['u32', slot], ['u32', 0], ['u32', 0]]);
}

function params(prog: Program, s: DecodeShape, V = 0): GPUBuffer {
  const D = s.H * s.dk;
  return prog.uniform([
    ['u32', s.B], ['u32', s.n], ['u32', s.H], ['u32', D], ['u32', s.Tmax], ['u32', Math.ceil(s.dk / 2)], ['f32', 1 / Math.sqrt(s.dk)], ['u32', V],
  ], 'attention_decode params');
}

const defines = (s: DecodeShape) => ({ DK: s.dk, ROPE: s.rope });

/**
 * qkv [B·n, 3·D] rows (q | k | v): q rotated in place, k rotated and v copied into cacheK/cacheV [B, Tmax, D] at
 * positions pos..pos+n−1. cos/sin are the RoPE tables [Tmax, dk/2] (any small buffer when rope is off).
 */
export function ropeAppend(prog: Program, s: DecodeShape, step: GPUBuffer, qkv: Tensor, cacheK: Tensor, cacheV: Tensor, cos: Tensor, sin: Tensor, label = 'rope_append'): void {
  prog.dispatch({
    file: 'attention_decode', entry: 'rope_append', defines: defines(s), label,
    bindings: [params(prog, s), step, bind(qkv), bind(cacheK), bind(cacheV), bind(cos), bind(sin)],
    workgroups: elemGrid(s.B * s.n * s.H * Math.ceil(s.dk / 2)),
  });
}

/** out [B·n, D] = causal attention of the chunk's queries (in qkv) over cache positions 0..pos+t. */
export function attentionDecode(prog: Program, s: DecodeShape, step: GPUBuffer, qkv: Tensor, cacheK: Tensor, cacheV: Tensor, out: Tensor, label = 'attention_decode'): void {
  prog.dispatch({
    file: 'attention_decode', entry: 'attention_decode', defines: defines(s), label,
    bindings: [params(prog, s), step, bind(qkv), bind(cacheK), bind(cacheV), undefined, undefined, bind(out)],
    workgroups: [s.n, s.H, s.B],
  });
}

/** ids[b] = argmax of logits row b (lowest index on ties), also into tokens[slot·B + b]. */
export function argmaxRows(prog: Program, B: number, V: number, step: GPUBuffer, logits: Tensor, ids: Tensor, tokens: Tensor, label = 'argmax'): void {
  const s: DecodeShape = { B, n: 1, H: 1, dk: 2, Tmax: 1, rope: false };
  prog.dispatch({
    file: 'attention_decode', entry: 'argmax_rows', defines: defines(s), label,
    bindings: [params(prog, s, V), step, undefined, undefined, undefined, undefined, undefined, undefined, bind(logits), bind(ids), bind(tokens)],
    workgroups: [B],
  });
}

/** The sampling settings sampleRows reads (written per generation: temperature, top-k, top-p). */
export function samplingUniform(device: GPUDevice): GPUBuffer {
  return uniformBuffer(device, [['f32', 1], ['u32', 0], ['f32', 1], ['u32', 0]], 'sampling settings');
}

export function writeSampling(device: GPUDevice, buf: GPUBuffer, temperature: number, topK: number, topP: number): void {
  writeUniform(device, buf, [['f32', 1 / temperature], ['u32', topK], ['f32', topP], ['u32', 0]]);
}

/**
 * ids[b] = a draw from row b of logits (temperature, top-k, top-p from `settings`) with the uniform
 * rand[slot·B + b], also into tokens[slot·B + b]; weights [B, V] is scratch.
 */
export function sampleRows(prog: Program, B: number, V: number, step: GPUBuffer, settings: GPUBuffer, logits: Tensor, rand: Tensor, weights: Tensor, ids: Tensor, tokens: Tensor, label = 'sample'): void {
  const s: DecodeShape = { B, n: 1, H: 1, dk: 2, Tmax: 1, rope: false };
  prog.dispatch({
    file: 'attention_decode', entry: 'sample_rows', defines: defines(s), label,
    bindings: [params(prog, s, V), step, undefined, undefined, undefined, undefined, undefined, undefined, bind(logits), bind(ids), bind(tokens), settings, bind(rand), bind(weights)],
    workgroups: [B],
  });
}
