// grad_clip.wgsl: global L2 norm over all gradients and the clip coefficient min(1, max/(norm+eps)).
import { type Program, grid, elemGrid } from '../gpu/program';
import { bind, type Tensor } from '../gpu/tensor';
import type { Defines } from '../gpu/shaders';

const PER_WORKGROUP = 256 * 16;

/** Gradient ranges, each bindable on its own (within maxStorageBufferBindingSize). */
export type Ranges = Tensor[];

export function partialsNeeded(ranges: Ranges): number {
  return ranges.reduce((s, t) => s + Math.ceil(t.shape[0] / PER_WORKGROUP), 0);
}

/** Layout of the stats buffer shared by cross_entropy, grad_clip and adamw (8 floats). */
export const STATS = { norm: 0, coef: 1, skip: 2, scale: 3, goodSteps: 4, size: 8 } as const;

/**
 * The same layout as WGSL constants (STAT_NORM, STAT_COEF, STAT_SKIP, STAT_SCALE, STAT_GOOD_STEPS), passed as
 * defines to every kernel that reads or writes the stats buffer, so the slots are defined once, here.
 */
export const STATS_DEFINES: Defines = Object.fromEntries(
  Object.entries(STATS).filter(([k]) => k !== 'size').map(([k, v]) => [`STAT_${k.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`, v]),
);

/** Initial stats: no clipping yet, loss scale `scale`. */
export function initialStats(scale = 1): Float32Array {
  return new Float32Array([0, 1, 0, scale, 0, 0, 0, 0]);
}

export interface LossScaling { dynamic: boolean; growthInterval: number }

/**
 * stats[0] = ‖g‖₂ over all ranges (unscaled), stats[1] = unscale·clip factor, stats[2] = overflow flag, and the
 * dynamic loss-scale update. maxNorm 0 turns clipping off.
 */
export function gradNorm(prog: Program, ranges: Ranges, partials: Tensor, stats: Tensor, maxNorm: number, eps: number, scaling: LossScaling = { dynamic: false, growthInterval: 2000 }): void {
  let offset = 0;
  for (const r of ranges) {
    const n = r.shape[0];
    const wgs = Math.ceil(n / PER_WORKGROUP);
    const params = prog.uniform([['u32', n], ['u32', offset], ['u32', 0], ['f32', maxNorm], ['f32', eps]]);
    prog.dispatch({ file: 'grad_clip', entry: 'grad_clip_partial', defines: STATS_DEFINES, bindings: [params, bind(r), bind(partials)], workgroups: grid(wgs) });
    offset += wgs;
  }
  const params = prog.uniform([
    ['u32', 0], ['u32', 0], ['u32', offset], ['f32', maxNorm > 0 ? maxNorm : 3e38], ['f32', eps], ['u32', scaling.dynamic ? 1 : 0], ['u32', scaling.growthInterval],
  ]);
  prog.dispatch({ file: 'grad_clip', entry: 'grad_clip_finalize', defines: STATS_DEFINES, bindings: [params, undefined, bind(partials), bind(stats)], workgroups: [1] });
}

/** g ← g · stats[1] over every range. */
export function gradClipApply(prog: Program, ranges: Ranges, stats: Tensor): void {
  for (const r of ranges) {
    const n = r.shape[0];
    const params = prog.uniform([['u32', n], ['u32', 0], ['u32', 0], ['f32', 0], ['f32', 0]]);
    prog.dispatch({ file: 'grad_clip', entry: 'grad_clip_apply', defines: STATS_DEFINES, bindings: [params, bind(r), undefined, bind(stats)], workgroups: elemGrid(n) });
  }
}
