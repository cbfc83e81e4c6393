// adamw.wgsl: one fused AdamW step over all parameters (flat buffers, bound in ranges).
import { type Program, writeUniform, elemGrid, type Scalar } from '../gpu/program';
import { bind, type Tensor } from '../gpu/tensor';
import { STATS_DEFINES } from './grad-clip';

export interface AdamWHyper { beta1: number; beta2: number; eps: number; weightDecay: number }

export interface AdamWRange { param: Tensor; grad: Tensor; m: Tensor; v: Tensor }

/**
 * Records the update (gradients times stats[1], skipped when the overflow flag is set: see grad_clip.wgsl); returns the
 * per-step uniform the caller rewrites with setAdamWStep before each submit.
 */
export function adamwStep(prog: Program, ranges: AdamWRange[], stats: Tensor): GPUBuffer {
  const step = prog.uniform(adamwStepFields(0, 1, { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 }), 'adamw step');
  for (const r of ranges) {
    const n = r.param.shape[0];
    const params = prog.uniform([['u32', n]]);
    prog.dispatch({
      file: 'adamw', entry: 'adamw_step', defines: STATS_DEFINES,
      bindings: [params, step, bind(r.param), bind(r.grad), bind(r.m), bind(r.v), bind(stats)], workgroups: elemGrid(n),
    });
  }
  return step;
}

/** Fields of the per-step uniform for optimizer step t (1-based) at learning rate lr. */
export function adamwStepFields(lr: number, t: number, h: AdamWHyper): Scalar[] {
  return [
    ['f32', lr], ['f32', h.beta1], ['f32', h.beta2], ['f32', h.eps], ['f32', h.weightDecay],
    ['f32', 1 - Math.pow(h.beta1, t)], ['f32', Math.sqrt(1 - Math.pow(h.beta2, t))], ['f32', 0],
  ];
}

export function setAdamWStep(device: GPUDevice, buf: GPUBuffer, lr: number, t: number, h: AdamWHyper): void {
  writeUniform(device, buf, adamwStepFields(lr, t, h));
}
