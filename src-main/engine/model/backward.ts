// Records the hand-written backward, from d loss/d head input (left by the forward's LM-head chunks) down to the
// embedding: per layer the FFN sublayer, then the attention sublayer, each through blocks.ts for the norm.
// Parameter gradients accumulate into the flat gradient buffer (zeroed at the start of the step).
import type { Program } from '../gpu/program';
import type { Tensor } from '../gpu/tensor';
import { blocksShape, type Allocated, type TensorSpec, type TrainingPlan } from './plan';
import { enterSublayerBackward, gradOperand, keptOperand, leaveSublayerBackward } from './blocks';
import { QKV, W13, attentionShape, chunkView, ffnChunks, fuseQkv, lin, normArgs, rowsOf, type ModelParts } from './forward';
import { linearBackwardInput, linearBackwardInputFused, linearBackwardInputFusedFits, linearBackwardWeight, linearBackwardWeightFused } from '../kernels/linear';
import { rmsnormBackwardInput, rmsnormBackwardWeight } from '../kernels/rmsnorm';
import { embeddingBackward } from '../kernels/embedding';
import { rope, ropeBackwardHalf } from '../kernels/rope';
import { swigluBackward, swigluBackwardHalf, siluBackward } from '../kernels/ffn-activation';
import { attentionBackward } from '../kernels/attention';

export function recordBackward(p: Program, m: ModelParts, plan: Allocated<TrainingPlan<TensorSpec>>): void {
  const c = m.cfg;
  const d = c.d_model;
  const f = c.d_ff;
  const BT = rowsOf(m);
  const norm = normArgs(m);
  const att = attentionShape(m);
  const w = m.weights;
  const bw = plan.backward;
  const partial = bw.normPartial;
  const xL = plan.x[c.num_layers];
  // Pre-norm in mixed precision (even d): every write of the stream's gradient is an RMSNorm backward, which also
  // writes its f16 copy (bw.dOut16) for the output projections' GEMMs that read it next: no separate casts.
  const stream16 = bw.dOut16 && c.norm === 'pre' && d % 2 === 0 ? bw.dOut16 : undefined;
  if (plan.finalNorm) {
    rmsnormBackwardInput(p, norm, xL, w.weight('ln_final.weight'), bw.dHeadIn, plan.finalNorm.rstd, bw.dStream, false, undefined, stream16);
    rmsnormBackwardWeight(p, norm, xL, bw.dHeadIn, plan.finalNorm.rstd, w.grad('ln_final.weight'), partial!);
  }
  for (let l = c.num_layers - 1; l >= 0; l--) {
    const L = `layers.${l}.`;
    const { attn: A, ffn: F } = plan.layers[l];
    const g = bw.layers[l];
    // FFN sublayer: dOut is the gradient at the FFN's output projection.
    const dOut = leaveSublayerBackward(p, w, norm, F, g.ffn, partial);
    const dOutOp = stream16 ?? gradOperand(p, dOut, bw.dOut16);
    const fin = keptOperand(F.branchIn);
    // In row chunks where a [rows, d_ff] activation exceeds the binding limit (forward.ts ffnChunks); the weight
    // gradients add up over the chunks.
    for (const [chunk, [r0, rows]] of ffnChunks(m).entries()) {
      const v = chunkView(r0, rows, BT);
      const later = chunk > 0;
      const a = v(F.a);
      const b = F.b && v(F.b);
      const dHidden = v(bw.dHidden);
      linearBackwardInput(p, lin(rows, f, d), v(dOutOp), w.gemmWeight(`${L}ffn.w2.weight`), dHidden);
      linearBackwardWeight(p, lin(rows, f, d), v(dOutOp), v(keptOperand(F.hidden)), w.grad(`${L}ffn.w2.weight`), later);
      // d/da (and d/db): in place over a (and b) in f32, or into f16 operands (mixed + SwiGLU: straight from the kernel).
      let daOp: Tensor;
      let dbOp: Tensor | undefined;
      if (F.activation === 'swiglu' && bw.dHidden16b) {
        daOp = v(bw.dHidden16!);
        dbOp = v(bw.dHidden16b);
        swigluBackwardHalf(p, rows * f, a, b!, dHidden, daOp, dbOp);
      } else {
        if (F.activation === 'swiglu') swigluBackward(p, rows * f, a, b!, dHidden);
        else siluBackward(p, rows * f, a, dHidden);
        daOp = gradOperand(p, a, bw.dHidden16 && v(bw.dHidden16));
      }
      // w1 and w3 as one GEMM each (K = 2·d_ff into the branch input's gradient, M = 2·d_ff into the adjacent weight
      // gradients) where da and db are the blocks of one f16 buffer (plan.ts dab16: only where the sublayer is one
      // row chunk) and the weights adjacent.
      const names = W13.map((n) => `${L}ffn.${n}.weight`);
      const abW = bw.dab16 && dbOp ? w.gemmWeightRun(names) : undefined;
      const gW = abW && w.gradRun(names);
      const ffnShape = blocksShape(BT, d, f, 2);
      if (abW && gW && linearBackwardInputFused(p, ffnShape, bw.dab16!, abW, g.ffn.branchIn, g.ffn.accumulateBranchIn, 'linear_backward_input w1|w3')) {
        if (!linearBackwardWeightFused(p, ffnShape, bw.dab16!, fin, gW, false, 'linear_backward_weight w1|w3')) {
          linearBackwardWeight(p, lin(rows, d, f), daOp, v(fin), w.grad(names[0]), later);
          linearBackwardWeight(p, lin(rows, d, f), dbOp!, v(fin), w.grad(names[1]), later);
        }
        continue;
      }
      linearBackwardInput(p, lin(rows, d, f), daOp, w.gemmWeight(`${L}ffn.w1.weight`), v(g.ffn.branchIn), g.ffn.accumulateBranchIn);
      linearBackwardWeight(p, lin(rows, d, f), daOp, v(fin), w.grad(`${L}ffn.w1.weight`), later);
      if (F.activation === 'swiglu') {
        dbOp ??= gradOperand(p, b!, bw.dHidden16 && v(bw.dHidden16));
        linearBackwardInput(p, lin(rows, d, f), dbOp, w.gemmWeight(`${L}ffn.w3.weight`), v(g.ffn.branchIn), true);
        linearBackwardWeight(p, lin(rows, d, f), dbOp, v(fin), w.grad(`${L}ffn.w3.weight`), later);
      }
    }
    enterSublayerBackward(p, w, norm, F, g.ffn, partial, stream16);
    // Attention sublayer: dProj is the gradient at the output projection.
    const dProj = leaveSublayerBackward(p, w, norm, A, g.attn, partial);
    const dProjOp = stream16 ?? gradOperand(p, dProj, bw.dOut16);
    linearBackwardInput(p, lin(BT, d, d), dProjOp, w.gemmWeight(`${L}attn.output_proj.weight`), bw.dAttnOut);
    linearBackwardWeight(p, lin(BT, d, d), dProjOp, keptOperand(A.out), w.grad(`${L}attn.output_proj.weight`));
    attentionBackward(p, att, A.q, A.k, A.v, A.out.value!, A.lse, bw.dAttnOut, { dq: bw.dq, dk: bw.dk, dv: bw.dv, dsum: bw.dsum, dsT: bw.dsT });
    // Mixed precision: RoPE's backward writes dq's and dk's f16 copies itself (into the one f16 scratch, each just
    // before its GEMMs), in place of the rotation in f32 and a cast.
    const ropeHalf = plan.rope && bw.dOut16 && att.sB % 2 === 0 && att.sH % 2 === 0 && att.sT % 2 === 0 ? plan.rope : undefined;
    if (plan.rope && !ropeHalf) {
      rope(p, att, bw.dq, plan.rope.positions, plan.rope.cos, plan.rope.sin, true);
      rope(p, att, bw.dk, plan.rope.positions, plan.rope.cos, plan.rope.sin, true);
    }
    const ain = keptOperand(A.branchIn);
    const projs: Array<[Tensor, string]> = [[bw.dq, 'q_proj'], [bw.dk, 'k_proj'], [bw.dv, 'v_proj']];
    // dy's GEMM operand, in `into` where there is one (mixed precision: f16): RoPE's backward writes dq's and dk's
    // itself, dv is cast.
    const operand = (dy: Tensor, i: number, into: Tensor | undefined): Tensor => {
      if (!ropeHalf || i >= 2) return gradOperand(p, dy, into);
      ropeBackwardHalf(p, att, dy, ropeHalf.positions, ropeHalf.cos, ropeHalf.sin, into!, `rope_backward_half ${i === 0 ? 'dq' : 'dk'}`);
      return into!;
    };
    // Mixed precision: dq, dk, dv's f16 copies go into one buffer's blocks, and one GEMM makes the branch input's
    // gradient (K = 3·d) and one GEMM the three weight gradients (M = 3·d; LMWB_FUSE_QKV_BW=0: one per projection).
    const names = QKV.map((n) => `${L}attn.${n}.weight`);
    const qkvW = bw.dqkv16 && fuseQkv() ? w.gemmWeightRun(names) : undefined;
    const fusedShape = blocksShape(BT, d, d, 3);
    if (qkvW && bw.dqkv16 && linearBackwardInputFusedFits(p, fusedShape, bw.dqkv16.all, qkvW, g.attn.branchIn)) {
      const blocks = bw.dqkv16.blocks;
      projs.forEach(([dy], i) => operand(dy, i, blocks[i]));
      linearBackwardInputFused(p, fusedShape, bw.dqkv16.all, qkvW, g.attn.branchIn, g.attn.accumulateBranchIn, 'linear_backward_input q|k|v');
      const gW = process.env.LMWB_FUSE_QKV_BW !== '0' ? w.gradRun(names) : undefined;
      if (!(gW && linearBackwardWeightFused(p, fusedShape, bw.dqkv16.all, ain, gW, false, 'linear_backward_weight q|k|v'))) {
        projs.forEach(([, name], i) => linearBackwardWeight(p, lin(BT, d, d), blocks[i], ain, w.grad(`${L}attn.${name}.weight`)));
      }
    } else {
      projs.forEach(([dy, name], i) => {
        const dyOp = operand(dy, i, bw.dOut16);
        linearBackwardInput(p, lin(BT, d, d), dyOp, w.gemmWeight(`${L}attn.${name}.weight`), g.attn.branchIn, g.attn.accumulateBranchIn || i > 0);
        linearBackwardWeight(p, lin(BT, d, d), dyOp, ain, w.grad(`${L}attn.${name}.weight`));
      });
    }
    enterSublayerBackward(p, w, norm, A, g.attn, partial, stream16);
  }
  embeddingBackward(p, { rows: BT, D: d, vocab: c.vocab_size }, bw.dStream, bw.segments, w.grad('token_embeddings.weight'));
}
