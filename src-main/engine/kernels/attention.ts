// attention.wgsl: causal multi-head attention, flash-style (no stored T×T scores), forward and backward, with the
// backend the program was recorded for (Program.kernels.attention, chosen by the model: kernels/choice.ts):
//   'f32'  attention.wgsl, one thread per query/key row, f32 throughout (the default; any adapter, any head dim);
//   'f16'  attention_f16.wgsl, tensor cores through subgroup matrices: f16 products, f32 accumulation and softmax
//          statistics (see attention-f16.ts). Shapes it does not take (head dim not a multiple of 16 or above
//          128, strides not multiples of 4) still run on the f32 kernels.
import type { Program } from '../gpu/program';
import { bind, type Tensor } from '../gpu/tensor';
import { attentionBackwardF16, attentionForwardF16, attentionParams, f16AttentionShapeSupported } from './attention-f16';

/** Whether a program records this shape on the tensor-core kernels: chosen for it, and a shape they take. */
const useF16 = (prog: Program, s: AttentionShape): boolean => prog.kernels.attention === 'f16' && f16AttentionShapeSupported(prog.device, s);

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
  if (useF16(prog, s)) {
    attentionForwardF16(prog, s, q, k, v, out, lse);
    return;
  }
  prog.dispatch({
    file: 'attention', entry: 'attention_forward', defines: defines(s.dk),
    bindings: [attentionParams(prog, s), bind(q), bind(k), bind(v), bind(out), bind(lse)], workgroups: gridOf(s),
  });
}

export interface AttentionGrads {
  dq: Tensor; dk: Tensor; dv: Tensor;
  /** scratch [B,H,T] */
  dsum: Tensor;
  /** Optional f16 scratch [B·H·T·T] (f16 kernels, T a multiple of 16): dq from the dS that backward_key writes there (attention-f16.ts). */
  dsT?: Tensor;
}

export function attentionBackward(prog: Program, s: AttentionShape, q: Tensor, k: Tensor, v: Tensor, out: Tensor, lse: Tensor, dout: Tensor, g: AttentionGrads): void {
  if (useF16(prog, s)) {
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
