// attention.wgsl: causal multi-head attention, flash-style (no stored T×T scores), forward and backward.
import { type Program, uniformBuffer } from '../gpu/program';
import { bind, type Tensor } from '../gpu/tensor';

const BQ = 64;

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
  return { DK: dk, BK: dk <= 64 ? 32 : dk <= 128 ? 16 : 8 };
}

function params(prog: Program, s: AttentionShape): GPUBuffer {
  return uniformBuffer(prog.device, [
    ['u32', s.B], ['u32', s.H], ['u32', s.T], ['u32', s.sB], ['u32', s.sH], ['u32', s.sT], ['f32', 1 / Math.sqrt(s.dk)], ['u32', 0],
  ]);
}

const gridOf = (s: AttentionShape): [number, number, number] => [Math.ceil(s.T / BQ), s.H, s.B];

/** out = causal softmax(q·kᵀ/√dk)·v; lse [B,H,T] keeps the row log-sum-exp for the backward. */
export function attentionForward(prog: Program, s: AttentionShape, q: Tensor, k: Tensor, v: Tensor, out: Tensor, lse: Tensor): void {
  prog.dispatch({
    file: 'attention', entry: 'attention_forward', defines: defines(s.dk),
    bindings: [params(prog, s), bind(q), bind(k), bind(v), bind(out), bind(lse)], workgroups: gridOf(s),
  });
}

export interface AttentionGrads { dq: Tensor; dk: Tensor; dv: Tensor; /** scratch [B,H,T] */ dsum: Tensor }

export function attentionBackward(prog: Program, s: AttentionShape, q: Tensor, k: Tensor, v: Tensor, out: Tensor, lse: Tensor, dout: Tensor, g: AttentionGrads): void {
  const u = params(prog, s);
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
