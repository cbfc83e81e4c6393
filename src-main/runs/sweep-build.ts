/**
 * A sweep as a front end asks for it — a sweep preset or a grid, on a base trainer preset, with `key=value`
 * overrides on the base — turned into the plan `lmwb sweep` would queue (the same planPreset / gridPoints /
 * queueSweep), a preview of every run it makes (its swept values, steps, tokens, estimate and problems, checked as
 * the new-run form checks a run), and the queued group.
 */
import { UserError } from '../util/errors';
import { resolveRunConfig, getKey } from './configs';
import { basePreset, defaultBase, planPreset, type PresetContext } from './sweep-presets';
import { gridPoints, queueSweep, type QueuedSweep, type SweepPlan } from './sweeps';
import { checkOnBase, limitsFor, type DeviceProbe } from './validate';
import { estimateRun, type Measurements } from './estimate';
import type { SweepPreview, SweepPreviewRun } from './run-check-types';

export type { SweepPreview };
import { parseRunConfig } from '../engine/train/run-config';

export interface SweepRequest {
  /** The base trainer preset; default: the sweep preset's own base (tinystories-base; lr-fine: the best run's config). */
  base?: string;
  /** A sweep preset (SWEEP_PRESETS); without one, the grids over the base. */
  preset?: string;
  /** Overrides on the base (to scale a preset down), as `lmwb sweep --set`. */
  sets: string[];
  /** `lmwb sweep --grid key=v1,v2,…`: with a preset they replace its values for that key. */
  grids: Array<{ key: string; values: unknown[] }>;
  name?: string;
  /** batch-size: the largest batch (else from the memory plan on this device). */
  maxBatch?: number;
  /** lr-fine: the lr-coarse sweep to refine. */
  from?: string;
}

/** The plan `lmwb sweep` makes for this request (throws a UserError naming the problem). */
export function planSweep(workspace: string, req: SweepRequest, device: DeviceProbe | null): SweepPlan {
  const given = req.base ? basePreset(req.base, workspace) : undefined;
  if (req.preset) {
    const ctx: PresetContext = { workspace, base: given, sets: req.sets, grids: req.grids, maxBatch: req.maxBatch, from: req.from, name: req.name };
    if (req.preset === 'batch-size' && req.maxBatch === undefined && !req.grids.some((g) => g.key === 'training.batch_size')) {
      if (!device) throw new UserError('the batch-size sweep needs the device limits, which are still being read: try again in a moment, or give the largest batch', { code: 'INVALID_ARGUMENT' });
      const eff = parseRunConfig(resolveRunConfig(given ?? defaultBase(workspace), { sets: req.sets, baseDir: workspace }));
      ctx.limits = limitsFor(eff, device);
    }
    return planPreset(req.preset, ctx);
  }
  if (!given) throw new UserError('a grid needs a base preset to sweep over', { code: 'INVALID_ARGUMENT' });
  if (!req.grids.length) throw new UserError('add at least one key to sweep, with its values', { code: 'INVALID_ARGUMENT' });
  for (const g of req.grids) if (!g.values.length) throw new UserError(`the grid over ${g.key} has no values`, { code: 'INVALID_ARGUMENT' });
  return { name: req.name ?? 'grid', base: given, points: gridPoints(req.grids), notes: [] };
}

const pointKeys = (plan: SweepPlan): string[] => plan.keys ?? [...new Set(plan.points.flatMap((p) => p.sets.map((s) => s.slice(0, s.indexOf('=')))))];

/** Every run the sweep would queue, resolved and checked as a single run is, with its estimate. */
export function previewSweep(workspace: string, req: SweepRequest, device: DeviceProbe | null, measurements: Measurements): SweepPreview {
  const plan = planSweep(workspace, req, device);
  const keys = pointKeys(plan);
  const runs = plan.points.map((p): SweepPreviewRun => {
    const c = checkOnBase(workspace, plan.base, { sets: [...req.sets, ...p.sets], unset: p.unset, name: `${plan.name}-${p.label || 'base'}` }, { device });
    return {
      label: p.label,
      sets: p.sets,
      values: Object.fromEntries(keys.map((k) => [k, c.config ? (getKey(c.config, k) ?? null) : null])),
      issues: c.issues,
      estimate: c.parsed ? estimateRun(c.parsed, device, measurements) : null,
    };
  });
  return { name: plan.name, keys, notes: plan.notes, runs, ok: runs.every((r) => !r.issues.some((i) => i.level === 'error')) };
}

/** Checks every run, then queues them as one group (queueSweep: the same as `lmwb sweep`). */
export function queueSweepRequest(workspace: string, req: SweepRequest, device: DeviceProbe | null, measurements: Measurements): QueuedSweep {
  const preview = previewSweep(workspace, req, device, measurements);
  const bad = preview.runs.find((r) => r.issues.some((i) => i.level === 'error'));
  if (bad) {
    const issue = bad.issues.find((i) => i.level === 'error')!;
    throw new UserError(`sweep run ${bad.label}: ${issue.message}`, { code: 'CONFIG_INVALID', data: { label: bad.label, key: issue.key } });
  }
  return queueSweep(workspace, planSweep(workspace, req, device), { sets: req.sets, baseDir: workspace });
}

/** What each sweep preset queues (as the README's table says it). */
export const SWEEP_PRESET_INFO: Record<string, string> = {
  'lr-coarse': 'max lr 1e-4 … 1e-2 (1-2-5 per decade); min lr = 0.1 × max lr',
  'lr-fine': 'the best finished lr-coarse run × 0.5, 0.7, 1.4, 2, on that run\'s config',
  'lr-edge': 'a doubling ladder of 10 rungs from the best lr so far; when a rung diverges the higher queued rungs are cancelled',
  'batch-size': 'batch 1, 2, 4, … up to the largest the memory plan accepts on this device; same tokens; lr × √(batch / base batch)',
  ablations: 'at the best lr so far: baseline, no RMSNorm (also at half the lr), post-norm, NoPE, SiLU FFN, tied embeddings',
  'ablation-no-rmsnorm': 'no RMSNorm (at the best lr and half of it) with its baseline',
  'ablation-post-norm': 'post-norm with its baseline',
  'ablation-nope': 'no position embeddings (NoPE) with its baseline',
  'ablation-silu': 'SiLU FFN with d_ff = 4 · d_model, with its baseline',
  'ablation-tied': 'tied embeddings with its baseline',
  'owt-main': 'the owt-main trainer preset as a sweep of one',
  'tinystories-base': 'the tinystories-base trainer preset as a sweep of one',
  'tinystories-lowres': 'the tinystories-lowres trainer preset as a sweep of one',
  leaderboard: 'the leaderboard trainer preset as a sweep of one',
};

/** The ablation sweep presets of one variant, offered by the New run form as starting points. */
export const ABLATION_STARTS = ['ablation-no-rmsnorm', 'ablation-post-norm', 'ablation-nope', 'ablation-silu', 'ablation-tied'] as const;

/** What each ablation start changes on tinystories-base (all at the best lr found so far, else the base's). */
export const ABLATION_START_INFO: Record<(typeof ABLATION_STARTS)[number], string> = {
  'ablation-no-rmsnorm': 'tinystories-base without RMSNorm (model.norm none), at the best lr found so far',
  'ablation-post-norm': 'tinystories-base with post-norm blocks (model.norm post), at the best lr found so far',
  'ablation-nope': 'tinystories-base without position embeddings (model.pos nope), at the best lr found so far',
  'ablation-silu': 'tinystories-base with a SiLU FFN, d_ff = 4 · d_model (parameter-matched), at the best lr found so far',
  'ablation-tied': 'tinystories-base with tied embeddings, at the best lr found so far',
};

/**
 * An ablation as a single run: the first variant point of its sweep preset (the variant's overrides at the best lr
 * found so far) and its label as the run name, on the preset's base (the TinyStories base). The form sends the base
 * preset plus these overrides.
 */
export function ablationStart(workspace: string, name: string): { base: string; sets: string[] } {
  if (!(ABLATION_STARTS as readonly string[]).includes(name)) throw new UserError(`unknown starting point "${name}"`, { code: 'INVALID_ARGUMENT', data: { name } });
  const plan = planPreset(name, { workspace });
  const variant = plan.points.find((p) => p.label !== 'baseline') ?? plan.points[0];
  return { base: 'tinystories-base', sets: [`name=${variant.label}`, ...variant.sets] };
}
