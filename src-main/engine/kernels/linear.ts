// linear.wgsl: y = x·Wᵀ and its backward products, on row-major f32 tensors.
import { type Program, uniformBuffer } from '../gpu/program';
import { bind, type Tensor } from '../gpu/tensor';

const TILE = 64;

interface Gemm {
  entry: 'linear_forward' | 'linear_backward_input' | 'linear_backward_weight';
  A: Tensor; B: Tensor; C: Tensor;
  M: number; N: number; K: number;
  lda: number; ldb: number; ldc: number;
  offA?: number; offB?: number; offC?: number;
  accumulate?: boolean;
  label: string;
}

function gemm(prog: Program, g: Gemm): void {
  const params = uniformBuffer(prog.device, [
    ['u32', g.M], ['u32', g.N], ['u32', g.K],
    ['u32', g.lda], ['u32', g.ldb], ['u32', g.ldc],
    ['u32', g.offA ?? 0], ['u32', g.offB ?? 0], ['u32', g.offC ?? 0],
    ['u32', g.accumulate ? 1 : 0],
  ]);
  prog.dispatch({
    file: 'linear', entry: g.entry, label: g.label,
    bindings: [params, bind(g.A), bind(g.B), bind(g.C)],
    workgroups: [Math.ceil(g.N / TILE), Math.ceil(g.M / TILE)],
  });
}

export interface LinearShape {
  /** Number of rows of x (batch·time) in this call. */
  rows: number;
  inFeatures: number;
  outFeatures: number;
  /** First row used in x / dx (row ranges of larger tensors). */
  xRow?: number;
  /** First row used in y / dy. */
  yRow?: number;
}

/** y[rows,out] (+)= x[rows,in] · W[out,in]ᵀ */
export function linearForward(prog: Program, s: LinearShape, x: Tensor, W: Tensor, y: Tensor, accumulate = false, label = 'linear_forward'): void {
  gemm(prog, {
    entry: 'linear_forward', A: x, B: W, C: y, M: s.rows, N: s.outFeatures, K: s.inFeatures,
    lda: s.inFeatures, ldb: s.inFeatures, ldc: s.outFeatures, offA: (s.xRow ?? 0) * s.inFeatures, offC: (s.yRow ?? 0) * s.outFeatures,
    accumulate, label,
  });
}

/** dx[rows,in] (+)= dy[rows,out] · W[out,in] */
export function linearBackwardInput(prog: Program, s: LinearShape, dy: Tensor, W: Tensor, dx: Tensor, accumulate = false, label = 'linear_backward_input'): void {
  gemm(prog, {
    entry: 'linear_backward_input', A: dy, B: W, C: dx, M: s.rows, N: s.inFeatures, K: s.outFeatures,
    lda: s.outFeatures, ldb: s.inFeatures, ldc: s.inFeatures, offA: (s.yRow ?? 0) * s.outFeatures, offC: (s.xRow ?? 0) * s.inFeatures,
    accumulate, label,
  });
}

/** dW[out,in] (+)= dy[rows,out]ᵀ · x[rows,in] */
export function linearBackwardWeight(prog: Program, s: LinearShape, dy: Tensor, x: Tensor, dW: Tensor, accumulate = false, label = 'linear_backward_weight'): void {
  gemm(prog, {
    entry: 'linear_backward_weight', A: dy, B: x, C: dW, M: s.outFeatures, N: s.inFeatures, K: s.rows,
    lda: s.outFeatures, ldb: s.inFeatures, ldc: s.inFeatures, offA: (s.yRow ?? 0) * s.outFeatures, offB: (s.xRow ?? 0) * s.inFeatures,
    accumulate, label,
  });
}
