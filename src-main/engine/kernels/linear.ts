// linear: y = x·Wᵀ and its backward products, on row-major tensors, with the backend the program was recorded
// for (Program.kernels.linear, chosen by the model: kernels/choice.ts):
//   'f32'  linear.wgsl, a tiled f32 GEMM that runs on any adapter, in the tiling of Program.kernels.f32Variant;
//   'f16'  linear_f16.wgsl, tensor cores through chromium-experimental-subgroup-matrix: f32 or f16 operands, f16
//          products, f32 accumulation (see linear-f16.ts).
import type { Program } from '../gpu/program';
import { bind, byteLength, type Tensor } from '../gpu/tensor';
import { f16BlocksFit, gemmF16, residualFits, type Gemm } from './linear-f16';

const TILE = 64;

/** The f16 kernel stores whole 16×16 result tiles, so its output binding must be at least 1 KiB. */
function f16Fits(g: Gemm): boolean {
  return g.C.buffer.size - g.C.byteOffset >= 1024;
}

function gemm(prog: Program, g: Gemm): void {
  const half = g.A.dtype === 'f16' || g.B.dtype === 'f16';
  if (prog.kernels.linear === 'f16') {
    if (f16Fits(g)) {
      gemmF16(prog, g);
      return;
    }
    if (half) {
      // Output under 1 KiB with f16 operands (tiny models): compute into a 1 KiB scratch holding a copy of C (so
      // rows outside a row range and accumulate both keep C's values) and copy it back.
      const buf = prog.scratch.get('linear small output', 1024);
      const bytes = byteLength(g.C);
      const tmp: Tensor = { buffer: buf, byteOffset: 0, shape: g.C.shape, dtype: 'f32', label: 'linear small output' };
      prog.copy(g.C.buffer, g.C.byteOffset, buf, 0, bytes, `${g.label} (old output)`);
      gemmF16(prog, { ...g, C: tmp });
      prog.copy(buf, 0, g.C.buffer, g.C.byteOffset, bytes, `${g.label} (small output)`);
      return;
    }
  }
  if (half) throw new Error(`linear ${g.label}: f16 operands need a program recorded with the f16 linear kernels (KernelChoice.linear 'f16')`);
  const params = prog.uniform([
    ['u32', g.M], ['u32', g.N], ['u32', g.K],
    ['u32', g.lda], ['u32', g.ldb], ['u32', g.ldc],
    ['u32', g.offA ?? 0], ['u32', g.offB ?? 0], ['u32', g.offC ?? 0],
    ['u32', g.accumulate ? 1 : 0],
  ]);
  prog.dispatch({
    file: 'linear', entry: prog.kernels.f32Variant === 'cpu' ? `${g.entry}_cpu` : g.entry, label: g.label,
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

const forwardGemm = (s: LinearShape, x: Tensor, W: Tensor, y: Tensor, accumulate: boolean, label: string): Gemm => ({
  entry: 'linear_forward', A: x, B: W, C: y, M: s.rows, N: s.outFeatures, K: s.inFeatures,
  lda: s.inFeatures, ldb: s.inFeatures, ldc: s.outFeatures, offA: (s.xRow ?? 0) * s.inFeatures, offC: (s.yRow ?? 0) * s.outFeatures,
  accumulate, label,
});

/** y[rows,out] (+)= x[rows,in] · W[out,in]ᵀ */
export function linearForward(prog: Program, s: LinearShape, x: Tensor, W: Tensor, y: Tensor, accumulate = false, label = 'linear_forward'): void {
  gemm(prog, forwardGemm(s, x, W, y, accumulate, label));
}

/**
 * y[rows,out] = residual + x · Wᵀ in one GEMM where the tensor-core kernels take it (linear-f16.ts residualFits);
 * false (nothing recorded) otherwise: the caller adds the residual itself.
 */
export function linearForwardResidual(prog: Program, s: LinearShape, x: Tensor, W: Tensor, y: Tensor, residual: Tensor, label = 'linear_forward'): boolean {
  const g: Gemm = { ...forwardGemm(s, x, W, y, false, `${label} + residual`), residual };
  if (prog.kernels.linear !== 'f16' || !f16Fits(g) || !residualFits(g)) return false;
  gemmF16(prog, g);
  return true;
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

/**
 * Fused GEMMs over n tensors that are blocks of one buffer, `stride` elements apart (q, k and v: plan.ts
 * qkvStride), with n weights that follow each other in the parameters (W = [n·out, in]: ParameterBuffers.gemmWeightRun).
 * Only the f16 kernels take blocks: each function returns false, recording nothing, where the program's kernels or
 * the tile do not fit (the caller then records one GEMM per block).
 */
export interface FusedShape { rows: number; inFeatures: number; outFeatures: number; blocks: number; stride: number }

function fits(prog: Program, g: Gemm): boolean {
  return prog.kernels.linear === 'f16' && f16Fits(g) && f16BlocksFit(g);
}

function fused(prog: Program, g: Gemm): boolean {
  if (!fits(prog, g)) return false;
  gemmF16(prog, g);
  return true;
}

/** y_j[rows, out] = x · W_jᵀ for the n blocks y_j of yAll: one GEMM with N = n·out. */
export function linearForwardFused(prog: Program, s: FusedShape, x: Tensor, W: Tensor, yAll: Tensor, label = 'linear_forward (fused)'): boolean {
  return fused(prog, {
    entry: 'linear_forward', A: x, B: W, C: yAll, M: s.rows, N: s.blocks * s.outFeatures, K: s.inFeatures,
    lda: s.inFeatures, ldb: s.inFeatures, ldc: s.outFeatures, cBlocks: { size: s.outFeatures, stride: s.stride }, label,
  });
}

const backwardInputFused = (s: FusedShape, dyAll: Tensor, W: Tensor, dx: Tensor, accumulate: boolean, label: string): Gemm => ({
  entry: 'linear_backward_input', A: dyAll, B: W, C: dx, M: s.rows, N: s.inFeatures, K: s.blocks * s.outFeatures,
  lda: s.outFeatures, ldb: s.inFeatures, ldc: s.inFeatures, aBlocks: { size: s.outFeatures, stride: s.stride }, accumulate, label,
});

/** dx[rows, in] (+)= Σ_j dy_j · W_j for the n blocks dy_j of dyAll: one GEMM with K = n·out. */
export function linearBackwardInputFused(prog: Program, s: FusedShape, dyAll: Tensor, W: Tensor, dx: Tensor, accumulate: boolean, label = 'linear_backward_input (fused)'): boolean {
  return fused(prog, backwardInputFused(s, dyAll, W, dx, accumulate, label));
}

/** Whether linearBackwardInputFused would record the GEMM (asked before the blocks of dyAll are written). */
export function linearBackwardInputFusedFits(prog: Program, s: FusedShape, dyAll: Tensor, W: Tensor, dx: Tensor): boolean {
  return fits(prog, backwardInputFused(s, dyAll, W, dx, false, 'fit check'));
}

/** dW_j[out, in] (+)= dy_jᵀ · x for the n blocks dy_j of dyAll into the consecutive dW_j: one GEMM with M = n·out. */
export function linearBackwardWeightFused(prog: Program, s: FusedShape, dyAll: Tensor, x: Tensor, dW: Tensor, accumulate: boolean, label = 'linear_backward_weight (fused)'): boolean {
  return fused(prog, {
    entry: 'linear_backward_weight', A: dyAll, B: x, C: dW, M: s.blocks * s.outFeatures, N: s.inFeatures, K: s.rows,
    lda: s.outFeatures, ldb: s.inFeatures, ldc: s.inFeatures, aBlocks: { size: s.outFeatures, stride: s.stride }, accumulate, label,
  });
}
