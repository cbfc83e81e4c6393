// Shared by the linear kernel tests: random data, a float64 CPU GEMM and a runner for the three linear ops.
import { f32Kernels, Program, type KernelChoice } from '../../src-main/engine/gpu/program';
import { createTensor, download, upload, type Tensor } from '../../src-main/engine/gpu/tensor';
import type { Gpu } from '../../src-main/engine/gpu/device';
import { linearBackwardInput, linearBackwardWeight, linearForward, linearForwardResidual } from '../../src-main/engine/kernels/linear';
import { castF16 } from '../../src-main/engine/kernels/cast';
import { xorshiftUniform as rand } from '../../src-main/engine/rng';

export { rand };

export type Op = 'forward' | 'backward_input' | 'backward_weight';

export interface Case {
  op: Op;
  rows: number; inF: number; outF: number;
  /** Rows of the larger x / y tensors, and the first row used (row-range calls). */
  xRows?: number; yRows?: number; xRow?: number; yRow?: number;
  accumulate?: boolean;
  /** Magnitude of the dy / y operand values. */
  yScale?: number;
  /** Operands as f16 copies (cast.wgsl), as mixed-precision training passes them: x, W and y all f16. */
  half?: boolean;
  /** Forward only: y = r + x·Wᵀ in one GEMM (linearForwardResidual, which must take it), r a tensor laid out like y. */
  residual?: boolean;
}

/**
 * Runs one linear op on the GPU, recorded with `kernels` (which linear backend and f32 tiling; default: f32 for the
 * adapter), and the same product in float64 on the CPU; returns max |gpu − ref| / max |ref|.
 */
export async function checkCase(gpu: Gpu, c: Case, kernels: KernelChoice = f32Kernels(gpu.device)): Promise<{ relErr: number; maxRef: number }> {
  const { rows, inF, outF } = c;
  const xRows = c.xRows ?? rows, yRows = c.yRows ?? rows, xRow = c.xRow ?? 0, yRow = c.yRow ?? 0;
  const ys = c.yScale ?? 1;
  const x = rand(xRows * inF, 1), W = rand(outF * inF, 2, 0.5), y = rand(yRows * outF, 3, ys);
  const init = rand(c.op === 'forward' ? yRows * outF : c.op === 'backward_input' ? xRows * inF : outF * inF, 4, c.op === 'forward' ? ys : 1);
  const d = gpu.device;
  const tx = createTensor(d, [xRows, inF], 'x'), tW = createTensor(d, [outF, inF], 'W'), ty = createTensor(d, [yRows, outF], 'y');
  const out: Tensor = c.op === 'forward' ? ty : c.op === 'backward_input' ? tx : createTensor(d, [outF, inF], 'dW');
  upload(d, tx, x); upload(d, tW, W); upload(d, ty, y);
  upload(d, out, init);
  const prog = new Program(d, kernels);
  // Half: f16 copies of the operands (the output stays f32). The reference still uses the f32 values, so the error
  // includes rounding both inputs to f16, as in training.
  const halfCopy = (t: Tensor): Tensor => {
    if (!c.half) return t;
    const h = createTensor(d, t.shape, `${t.label}16`, 'f16');
    castF16(prog, t, h);
    return h;
  };
  const [hx, hW, hy] = [tx, tW, ty].map(halfCopy);
  const acc = c.accumulate ?? false;
  const s = { rows, inFeatures: inF, outFeatures: outF, xRow, yRow };
  const tr = c.residual ? createTensor(d, [yRows, outF], 'r') : undefined;
  if (tr) {
    upload(d, tr, init);
    if (c.op !== 'forward' || acc || !linearForwardResidual(prog, s, hx, hW, ty, tr, 'fwd')) throw new Error('the fused residual GEMM was not recorded');
  } else if (c.op === 'forward') linearForward(prog, s, hx, hW, ty, acc, 'fwd');
  else if (c.op === 'backward_input') linearBackwardInput(prog, s, hy, hW, tx, acc, 'bwd_in');
  else linearBackwardWeight(prog, s, hy, hx, out, acc, 'bwd_w');
  prog.submit();
  await gpu.sync();
  const got = await download(d, out);
  prog.destroy();
  // reference: the whole output tensor, rows outside the call's range keep their initial value
  const ref = Float64Array.from(init);
  if (c.op === 'forward') {
    for (let r = 0; r < rows; r++) for (let n = 0; n < outF; n++) {
      let sum = 0;
      for (let k = 0; k < inF; k++) sum += x[(xRow + r) * inF + k] * W[n * inF + k];
      const o2 = (yRow + r) * outF + n; ref[o2] = (acc || c.residual ? ref[o2] : 0) + sum;
    }
  } else if (c.op === 'backward_input') {
    for (let r = 0; r < rows; r++) for (let n = 0; n < inF; n++) {
      let sum = 0;
      for (let k = 0; k < outF; k++) sum += y[(yRow + r) * outF + k] * W[k * inF + n];
      const o2 = (xRow + r) * inF + n; ref[o2] = (acc ? ref[o2] : 0) + sum;
    }
  } else {
    for (let m = 0; m < outF; m++) for (let n = 0; n < inF; n++) {
      let sum = 0;
      for (let k = 0; k < rows; k++) sum += y[(yRow + k) * outF + m] * x[(xRow + k) * inF + n];
      const o2 = m * inF + n; ref[o2] = (acc ? ref[o2] : 0) + sum;
    }
  }
  let maxErr = 0, maxRef = 0;
  for (let i = 0; i < ref.length; i++) {
    maxErr = Math.max(maxErr, Math.abs(got[i] - ref[i]));
    maxRef = Math.max(maxRef, Math.abs(ref[i]));
  }
  for (const t of new Set([tx, tW, ty, hx, hW, hy, ...(tr ? [tr] : [])])) t.buffer.destroy();
  if (c.op === 'backward_weight') out.buffer.destroy();
  return { relErr: maxErr / (maxRef || 1), maxRef };
}

/** Awkward shapes: M, N, K not multiples of any tile, row ranges inside larger tensors, accumulate. */
export const awkwardCases: Case[] = [
  { op: 'forward', rows: 37, inF: 19, outF: 50 },
  { op: 'backward_input', rows: 37, inF: 19, outF: 50 },
  { op: 'backward_weight', rows: 37, inF: 19, outF: 50 },
  { op: 'forward', rows: 70, inF: 33, outF: 65, xRows: 90, xRow: 11, yRows: 80, yRow: 5, accumulate: true },
  { op: 'backward_input', rows: 70, inF: 33, outF: 65, xRows: 90, xRow: 11, yRows: 80, yRow: 5, accumulate: true },
  { op: 'backward_weight', rows: 70, inF: 33, outF: 65, xRows: 90, xRow: 11, yRows: 80, yRow: 5, accumulate: true },
  { op: 'forward', rows: 130, inF: 64, outF: 132 },
  { op: 'backward_input', rows: 130, inF: 68, outF: 136, yRows: 140, yRow: 8, accumulate: true },
  { op: 'backward_weight', rows: 300, inF: 128, outF: 128, xRows: 310, xRow: 4 },
  { op: 'forward', rows: 1, inF: 5, outF: 3 },
];
