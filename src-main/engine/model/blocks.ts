// The pieces of the forward and backward that depend on the model's variant, written once: a GEMM operand (cast
// to its f16 copy or used as is, as the plan says) and a residual sublayer's entry and exit (where the RMSNorm sits:
// pre, post or none), forward and backward, with the output projection that the residual add may be fused into.
import type { Program } from '../gpu/program';
import type { Tensor } from '../gpu/tensor';
import { castF16 } from '../kernels/cast';
import { linearForward, linearForwardResidual, type LinearShape } from '../kernels/linear';
import { residualForward } from '../kernels/residual';
import { rmsnormBackwardInput, rmsnormBackwardWeight, rmsnormForward, rmsnormForwardHalf, type RmsNormArgs } from '../kernels/rmsnorm';
import type { Operand, Sublayer, SublayerGrads } from './plan';
import type { ParameterBuffers } from './weights';

/** Records the f16 copy of an operand where the plan has one (first `n` elements; default all) and returns what the GEMMs read. */
export function makeOperand(p: Program, op: Operand<Tensor>, n?: number): Tensor {
  if (op.value && op.gemm !== op.value) castF16(p, op.value, op.gemm, n, `cast ${op.value.label} → f16`);
  return op.gemm;
}

/** A gradient as a GEMM operand: cast into the f16 scratch `copy16` where there is one, else the gradient itself. */
export function gradOperand(p: Program, grad: Tensor, copy16: Tensor | undefined, n?: number): Tensor {
  return makeOperand(p, { value: grad, gemm: copy16 ?? grad }, n);
}

/** Before the branch: the pre-norm (if any), then the branch input's GEMM operand. */
export function enterSublayer(p: Program, w: ParameterBuffers, norm: RmsNormArgs, s: Sublayer<Tensor>): Tensor {
  const r = s.residual;
  if (r.kind === 'pre') {
    // No f32 output in the plan: the norm writes the branch's f16 operand directly.
    if (!r.normed) {
      rmsnormForwardHalf(p, norm, s.input, w.weight(r.weight), s.branchIn.gemm, r.rstd);
      return s.branchIn.gemm;
    }
    rmsnormForward(p, norm, s.input, w.weight(r.weight), r.normed, r.rstd);
  }
  return makeOperand(p, s.branchIn);
}

/**
 * The branch's output projection and the residual add, for rows [r0, r0 + rows) of the sublayer (`view` gives a
 * [BT, d] tensor's view of them; the whole tensor for one chunk): input + x·Wᵀ into the residual sum (post) or the
 * output, in one GEMM where the tensor-core kernels take it (linearForwardResidual), else the GEMM into `branchOut`
 * and then the add. After the last chunk, finishSublayer.
 */
export function projectAndAdd(p: Program, s: Sublayer<Tensor>, view: (t: Tensor) => Tensor, shape: LinearShape, x: Tensor, W: Tensor, branchOut: Tensor, label?: string): void {
  const r = s.residual;
  const target = view(r.kind === 'post' ? r.sum : s.output);
  const input = view(s.input);
  if (target.buffer !== input.buffer && linearForwardResidual(p, shape, x, W, target, input, label)) return;
  const out = view(branchOut);
  linearForward(p, shape, x, W, out, false, label);
  residualForward(p, shape.rows * shape.outFeatures, input, out, target);
}

/** After the branch (projectAndAdd for all its rows): post-norm's norm of the sum into the output. */
export function finishSublayer(p: Program, w: ParameterBuffers, norm: RmsNormArgs, s: Sublayer<Tensor>): void {
  const r = s.residual;
  if (r.kind === 'post') rmsnormForward(p, norm, r.sum, w.weight(r.weight), s.output, r.rstd);
}

/** Backward of the exit: returns the tensor holding d loss/d branch output (post: through the norm into g.in). */
export function leaveSublayerBackward(p: Program, w: ParameterBuffers, norm: RmsNormArgs, s: Sublayer<Tensor>, g: SublayerGrads<Tensor>, partial: Tensor | undefined): Tensor {
  const r = s.residual;
  if (r.kind !== 'post') return g.out;
  rmsnormBackwardInput(p, norm, r.sum, w.weight(r.weight), g.out, r.rstd, g.in, false);
  rmsnormBackwardWeight(p, norm, r.sum, g.out, r.rstd, w.grad(r.weight), partial!);
  return g.in;
}

/**
 * Backward of the entry, once the branch has written d loss/d branch input into g.branchIn: pre adds the norm's
 * input gradient onto g.in (and with `in16`, writes g.in's f16 copy there too: the next GEMMs' operand).
 */
export function enterSublayerBackward(p: Program, w: ParameterBuffers, norm: RmsNormArgs, s: Sublayer<Tensor>, g: SublayerGrads<Tensor>, partial: Tensor | undefined, in16?: Tensor): void {
  const r = s.residual;
  if (r.kind !== 'pre') return;
  rmsnormBackwardInput(p, norm, s.input, w.weight(r.weight), g.branchIn, r.rstd, g.in, true, undefined, in16);
  rmsnormBackwardWeight(p, norm, s.input, g.branchIn, r.rstd, w.grad(r.weight), partial!);
}

/** The tensor the backward's GEMMs read for a forward operand (kept from the forward: no cast). */
export const keptOperand = (op: Operand<Tensor>): Tensor => op.gemm;
