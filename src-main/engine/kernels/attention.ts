// attention.wgsl: causal multi-head attention, flash-style (no stored T×T scores), forward and backward, with two
// backends chosen per device by selectAttentionBackend():
//   'f32'  attention.wgsl, one thread per query/key row, f32 throughout (the default; any adapter, any head dim);
//   'f16'  attention_f16.wgsl, tensor cores through subgroup matrices: f16 products, f32 accumulation and softmax
//          statistics (see attention-f16.ts). Shapes it does not take (head dim not a multiple of 16 or above
//          128, strides not multiples of 4) still run on the f32 kernels.
import type { Program } from '../gpu/program';
import { bind, type Tensor } from '../gpu/tensor';
import { hasF16TensorCores } from '../gpu/device';
import { attentionBackwardF16, attentionForwardF16, attentionParams, f16AttentionShapeSupported } from './attention-f16';

export type AttentionBackend = 'f32' | 'f16';

const backends = new WeakMap<GPUDevice, AttentionBackend>();

/**
 * Chooses the attention backend for a device, once at start-up (before recording programs). 'f16' needs the device
 * features shader-f16, subgroups, subgroup-size-control and chromium-experimental-subgroup-matrix (throws
 * otherwise). The f16 backward converts dout to f16: it expects loss-scaled gradients, as mixed precision gives.
 */
export function selectAttentionBackend(device: GPUDevice, backend: AttentionBackend): void {
  if (backend === 'f16' && !hasF16TensorCores(device)) {
    throw new Error('attention backend f16 needs the device features shader-f16, subgroups, subgroup-size-control and chromium-experimental-subgroup-matrix');
  }
  backends.set(device, backend);
}

/** Sets the backend without checking device features: for tests that run attention_f16.wgsl with emulated subgroup matrices. */
export function forceAttentionBackendForTests(device: GPUDevice, backend: AttentionBackend): void {
  backends.set(device, backend);
}

/** The backend attention records with on this device ('f32' unless selectAttentionBackend chose otherwise). */
export function attentionBackend(device: GPUDevice): AttentionBackend {
  return backends.get(device) ?? 'f32';
}

const useF16 = (device: GPUDevice, s: AttentionShape): boolean => attentionBackend(device) === 'f16' && f16AttentionShapeSupported(device, s);

export interface AttentionTiles { BQ: number; BK: number }

let tileOverride: AttentionTiles | undefined;
/** Benchmarks only: force the tile sizes (undefined restores the defaults). */
export function setAttentionTilesForBench(t: AttentionTiles | undefined): void {
  tileOverride = t;
}

/** Rows per workgroup (BQ) and per shared-memory tile (BK), by head dim (workgroup memory: 2·BK·dk·4 bytes). */
export function attentionTiles(dk: number): AttentionTiles {
  if (tileOverride) return tileOverride;
  const env = process.env.LMWB_ATTENTION_TILES; // "BQ,BK", for tuning experiments
  if (env) {
    const [BQ, BK] = env.split(',').map(Number);
    if (BQ > 0 && BK > 0) return { BQ, BK };
  }
  // BK 16 measured best on the H100 at the CS336 shape (scripts: src-main/bench/attention-bench.ts, BENCHMARKS.md).
  return { BQ: 64, BK: dk <= 128 ? 16 : 8 };
}

export interface AttentionShape {
  B: number; H: number; T: number; dk: number;
  /** Element strides of batch, head and time; the channel stride is 1. */
  sB: number; sH: number; sT: number;
}

/** Layout of q/k/v as produced by the projections: [B, T, H·dk]. */
export function projectionLayout(B: number, T: number, H: number, dk: number): AttentionShape {
  return { B, H, T, dk, sB: T * H * dk, sH: dk, sT: H * dk };
}

function defines(dk: number) {
  if (dk > 256) throw new Error(`attention: head dim ${dk} is larger than 256`);
  const t = attentionTiles(dk);
  return { DK: dk, BK: t.BK, BQ: t.BQ };
}

const gridOf = (s: AttentionShape): [number, number, number] => [Math.ceil(s.T / attentionTiles(s.dk).BQ), s.H, s.B];

/** out = causal softmax(q·kᵀ/√dk)·v; lse [B,H,T] keeps the row log-sum-exp for the backward. */
export function attentionForward(prog: Program, s: AttentionShape, q: Tensor, k: Tensor, v: Tensor, out: Tensor, lse: Tensor): void {
  if (useF16(prog.device, s)) {
    attentionForwardF16(prog, s, q, k, v, out, lse);
    return;
  }
  prog.dispatch({
    file: 'attention', entry: 'attention_forward', defines: defines(s.dk),
    bindings: [attentionParams(prog, s), bind(q), bind(k), bind(v), bind(out), bind(lse)], workgroups: gridOf(s),
  });
}

export interface AttentionGrads { dq: Tensor; dk: Tensor; dv: Tensor; /** scratch [B,H,T] */ dsum: Tensor }

export function attentionBackward(prog: Program, s: AttentionShape, q: Tensor, k: Tensor, v: Tensor, out: Tensor, lse: Tensor, dout: Tensor, g: AttentionGrads): void {
  if (useF16(prog.device, s)) {
    attentionBackwardF16(prog, s, q, k, v, out, lse, dout, g);
    return;
  }
  const u = attentionParams(prog, s);
  const d = defines(s.dk);
  prog.dispatch({
    file: 'attention', entry: 'attention_backward_prepare', defines: d,
    bindings: [u, undefined, undefined, undefined, bind(out), undefined, bind(dout), bind(g.dsum)], workgroups: gridOf(s),
  });
  prog.dispatch({
    file: 'attention', entry: 'attention_backward_query', defines: d,
    bindings: [u, bind(q), bind(k), bind(v), undefined, bind(lse), bind(dout), bind(g.dsum), bind(g.dq)], workgroups: gridOf(s),
  });
  prog.dispatch({
    file: 'attention', entry: 'attention_backward_key', defines: d,
    bindings: [u, bind(q), bind(k), bind(v), undefined, bind(lse), bind(dout), bind(g.dsum), undefined, bind(g.dk), bind(g.dv)], workgroups: gridOf(s),
  });
}
