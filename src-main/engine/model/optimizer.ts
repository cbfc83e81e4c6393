// Records the optimizer step over the flat buffers: global gradient norm (unscaled, with clipping and the dynamic
// loss-scale update, all on the GPU) and the fused AdamW update. Returns the per-step uniform (lr, bias corrections).
import type { Program } from '../gpu/program';
import { createTensor, type Tensor } from '../gpu/tensor';
import { gradNorm, partialsNeeded } from '../kernels/grad-clip';
import { adamwStep } from '../kernels/adamw';
import type { ParameterBuffers } from './weights';

export interface OptimizerOptions {
  /** Clip the global gradient norm to this value (0 = off). */
  maxGradNorm: number;
  gradClipEps: number;
  lossScale?: { dynamic: boolean; growthInterval?: number };
}

/** `owned` receives the scratch it allocates (the grad-norm partial sums). */
export function recordOptimizer(p: Program, w: ParameterBuffers, stats: Tensor, o: OptimizerOptions, maxBindingBytes: number, owned: Tensor[]): GPUBuffer {
  const gr = w.ranges(w.grads!, maxBindingBytes);
  const partials = createTensor(p.device, [Math.max(1, partialsNeeded(gr))], 'grad norm partials');
  owned.push(partials);
  gradNorm(p, gr, partials, stats, o.maxGradNorm, o.gradClipEps, { dynamic: o.lossScale?.dynamic ?? false, growthInterval: o.lossScale?.growthInterval ?? 2000 });
  const pr = w.ranges(w.params, maxBindingBytes);
  const mr = w.ranges(w.m!, maxBindingBytes);
  const vr = w.ranges(w.v!, maxBindingBytes);
  return adamwStep(p, pr.map((param, i) => ({ param, grad: gr[i], m: mr[i], v: vr[i] })), stats);
}
