/**
 * The CS336 §7 experiments as sweep plans (see sweeps.ts): each preset is a list of override points on a base
 * config (by default the trainer's TinyStories base preset; any config can be the base, and extra overrides scale
 * a preset down). Pure apart from reading earlier sweeps' results from the workspace (lr-fine, and the best lr
 * that lr-edge and the ablations start from).
 *
 * Rules, stated once:
 * - lr points set max_learning_rate and min_learning_rate = 0.1 × max (the CS336 cosine schedule's usual ratio).
 * - lr-coarse: a log grid, 1-2-5 per decade, 1e-4 … 1e-2.
 * - lr-fine: the best finished lr-coarse run (lowest final val loss) × 0.5, 0.7, 1.4, 2 on its own config.
 * - lr-edge: a doubling ladder from the best known lr (or the base's), 10 rungs, queued at once; when a rung
 *   diverges the worker cancels the higher rungs still queued (rules.stop_when_diverged).
 * - batch-size: 1, 2, 4, … up to the largest batch the engine's memory plan accepts (capped at 1024), the same
 *   token budget for each (total_tokens of the base); lr = base lr × sqrt(batch / base batch) (square-root
 *   scaling, the usual rule for Adam); warmup, cosine length and the eval/checkpoint/log intervals, which count
 *   steps, are scaled by base batch / batch so they fall at the same token counts.
 * - ablations: each variant at the best known lr with its baseline at the same lr; no RMSNorm also at half that lr.
 */
import { UserError } from '../util/errors';
import { preset as trainerPreset, PRESET_NAMES } from '../engine/train/presets';
import { logitsChunkBytesFor } from '../engine/train/run-config';
import { planTraining, bytesOf, defaultLogitsChunkBytes, parameterBytes } from '../engine/model/plan';
import { parseModelConfig } from '../engine/model/config';
import { layoutParameters, parameterSpecs } from '../engine/model/parameters';
import { getKey } from './configs';
import { finishedLrResults, gridPoints, type SweepPlan, type SweepPoint } from './sweeps';

export const SWEEP_PRESETS = [
  'lr-coarse', 'lr-fine', 'lr-edge', 'batch-size', 'ablations', 'ablation-no-rmsnorm', 'ablation-post-norm', 'ablation-nope',
  'ablation-silu', 'ablation-tied', 'owt-main', 'tinystories-base', 'tinystories-lowres', 'leaderboard',
] as const;
export type SweepPresetName = (typeof SWEEP_PRESETS)[number];

export interface PresetContext {
  workspace: string;
  /** The base config (a config file or a trainer preset); default: the preset's own base. */
  base?: Record<string, unknown>;
  /** Overrides applied to the base before the points (to scale a preset down); used to size batch-size. */
  sets?: string[];
  /** Replaces a preset's default values for a key (e.g. the lr ladder). */
  grids?: Array<{ key: string; values: unknown[] }>;
  /** batch-size: the largest batch (else computed from the memory plan with `limits`). */
  maxBatch?: number;
  limits?: DeviceLimits;
  /** lr-fine: the lr-coarse sweep to refine (default: the newest with a finished run). */
  from?: string;
  name?: string;
}

export const LR_KEY = 'training.max_learning_rate';
const BATCH_KEY = 'training.batch_size';
export const BATCH_CAP = 1024;

/** Overrides for one learning rate (min = 0.1 × max). */
export function lrSets(lr: number): string[] {
  return [`${LR_KEY}=${lr}`, `training.min_learning_rate=${+(lr / 10).toPrecision(6)}`];
}

const fmtLr = (lr: number) => (lr < 1e-3 || lr >= 1 ? lr.toExponential().replace('e+', 'e') : String(+lr.toPrecision(4)));

/** A trainer preset by name, with its data under the workspace. */
export function basePreset(name: string, workspace: string): Record<string, unknown> {
  if (!(PRESET_NAMES as readonly string[]).includes(name)) {
    throw new UserError(`unknown base preset "${name}"; presets: ${PRESET_NAMES.join(', ')}`, { code: 'INVALID_ARGUMENT', data: { name } });
  }
  return JSON.parse(JSON.stringify(trainerPreset(name, { workspace }))) as Record<string, unknown>;
}

function firstPreset(workspace: string, names: string[]): Record<string, unknown> {
  const n = names.find((x) => (PRESET_NAMES as readonly string[]).includes(x));
  if (!n) throw new UserError(`no base preset for this sweep (looked for ${names.join(', ')}); give a base config`, { code: 'INVALID_ARGUMENT' });
  return basePreset(n, workspace);
}

/** The base of the sweep presets: the trainer's TinyStories base preset. */
export const defaultBase = (ws: string) => firstPreset(ws, ['tinystories-base', 'cs336-tinystories']);

function gridFor(ctx: PresetContext, key: string): unknown[] | undefined {
  return ctx.grids?.find((g) => g.key === key)?.values;
}

function numbers(values: unknown[], key: string): number[] {
  return values.map((v) => {
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw new UserError(`${key} values must be positive numbers, got ${JSON.stringify(v)}`, { code: 'INVALID_ARGUMENT' });
    return v;
  });
}

/** The base config with the user's overrides, for reading values (lr, batch, model) the points derive from. */
function effective(base: Record<string, unknown>, sets: string[] | undefined): Record<string, unknown> {
  const out = structuredClone(base);
  for (const s of sets ?? []) {
    const eq = s.indexOf('=');
    if (eq <= 0) continue;
    const path = s.slice(0, eq).split('.');
    let v: unknown;
    try {
      v = JSON.parse(s.slice(eq + 1));
    } catch {
      v = s.slice(eq + 1);
    }
    let node = out;
    for (const k of path.slice(0, -1)) node = (node[k] ??= {}) as Record<string, unknown>;
    node[path[path.length - 1]] = v;
  }
  return out;
}

/** The best lr so far: lr-fine, else lr-coarse finished runs; else the base's. */
function bestLr(ctx: PresetContext, base: Record<string, unknown>): { lr: number; note: string } {
  for (const p of [['lr-fine'], ['lr-coarse']]) {
    const { sweep, results } = finishedLrResults(ctx.workspace, p);
    if (results.length) return { lr: results[0].lr, note: `best lr ${results[0].lr} from sweep ${sweep?.name} (run ${results[0].id}, val loss ${results[0].val_loss.toFixed(4)})` };
  }
  const lr = getKey(effective(base, ctx.sets), LR_KEY);
  if (typeof lr !== 'number') throw new UserError('the base config has no training.max_learning_rate', { code: 'CONFIG_INVALID' });
  return { lr, note: `no finished lr sweep yet: using the base config's lr ${lr}` };
}

// ── batch-size: the memory plan ─────────────────────────────────────────────────────────────────────────────
export interface DeviceLimits {
  maxStorageBufferBindingSize: number;
  /** The largest buffer (the FFN's row-chunked activations are limited by it only); unknown: not checked. */
  maxBufferSize?: number;
  /** A CPU adapter allocates from system memory: the bytes the plan may use (the engine allows 90% of free). */
  memoryBytes?: number;
  /** Plan the f16 operand copies too (mixed precision). */
  mixed?: boolean;
  /** The run's logits chunk in bytes (training.logits_chunk_mb); default defaultLogitsChunkBytes(). */
  logitsChunkBytes?: number;
}

/** Whether the engine's memory plan accepts a training batch (the same checks TransformerRuntime makes). */
export function planAccepts(model: Record<string, unknown>, batch: number, limits: DeviceLimits): boolean {
  const cfg = parseModelConfig(model, 'model');
  const plan = planTraining(cfg, {
    batchSize: batch, seqLen: cfg.context_length, logitsChunkBytes: limits.logitsChunkBytes ?? defaultLogitsChunkBytes(), maxBindingBytes: limits.maxStorageBufferBindingSize,
    halfOperands: limits.mixed ?? false,
  }).buffers;
  if (plan.some((p) => bytesOf(p) > (p.rowChunks ? (limits.maxBufferSize ?? Infinity) : limits.maxStorageBufferBindingSize))) return false;
  if (limits.memoryBytes !== undefined) {
    const total = parameterBytes(layoutParameters(parameterSpecs(cfg)).totalFloats, true, limits.mixed ?? false) + plan.reduce((s, p) => s + bytesOf(p), 0);
    if (total > limits.memoryBytes) return false;
  }
  return true;
}

/** The largest batch ≤ cap the plan accepts (binary search; the plan grows with the batch). 0: none fits. */
export function largestBatch(model: Record<string, unknown>, limits: DeviceLimits, cap = BATCH_CAP): number {
  if (!planAccepts(model, 1, limits)) return 0;
  let lo = 1;
  let hi = cap;
  if (planAccepts(model, hi, limits)) return hi;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (planAccepts(model, mid, limits)) lo = mid;
    else hi = mid;
  }
  return lo;
}

/** 1, 2, 4, … ≤ max, and max itself when it is not a power of two. */
export function batchLadder(max: number): number[] {
  const out: number[] = [];
  for (let b = 1; b <= max; b *= 2) out.push(b);
  if (out[out.length - 1] !== max && max > 0) out.push(max);
  return out;
}

function planBatchSize(ctx: PresetContext, base: Record<string, unknown>): SweepPlan {
  const eff = effective(base, ctx.sets);
  const b0 = Number(getKey(eff, BATCH_KEY));
  const T = Number(getKey(eff, 'model.context_length'));
  const lr0 = Number(getKey(eff, LR_KEY));
  const steps0 = getKey(eff, 'training.max_steps');
  const tokens = typeof steps0 === 'number' ? steps0 * b0 * T : Number(getKey(eff, 'training.total_tokens'));
  if (!(b0 > 0 && T > 0 && lr0 > 0 && tokens > 0)) throw new UserError('the base config needs training.batch_size, model.context_length, training.max_learning_rate and max_steps or total_tokens', { code: 'CONFIG_INVALID' });
  const notes: string[] = [];
  let sizes: number[];
  const given = gridFor(ctx, BATCH_KEY);
  if (given) sizes = numbers(given, BATCH_KEY);
  else {
    let max = ctx.maxBatch;
    if (max === undefined) {
      if (!ctx.limits) throw new UserError('the batch-size sweep needs the device limits or a largest batch', { code: 'INVALID_ARGUMENT' });
      // The memory plan with the base's own logits chunk (training.logits_chunk_mb), as its runs will train.
      const chunkMb = getKey(eff, 'training.logits_chunk_mb');
      max = largestBatch(eff.model as Record<string, unknown>, { ...ctx.limits, logitsChunkBytes: logitsChunkBytesFor(typeof chunkMb === 'number' ? chunkMb : undefined) });
      notes.push(`largest batch the memory plan accepts on this device: ${max}${max === BATCH_CAP ? ` (the sweep's cap)` : ''}` +
        (ctx.limits.memoryBytes === undefined ? '; WebGPU does not report GPU memory, so the plan checks buffer bindings only — a batch that then runs out of memory fails on its own' : ''));
    } else notes.push(`largest batch: ${max} (given)`);
    if (max < 1) throw new UserError('not even batch 1 fits this device', { code: 'BATCH_TOO_LARGE' });
    sizes = batchLadder(max);
    if (max < 128) notes.push(`the device limits the batch to ${max}: below the 64 and 128 the assignment asks for`);
  }
  notes.push(`same token budget for every batch: ${tokens} tokens; lr = ${lr0} × sqrt(batch / ${b0}); warmup, cosine length and eval/checkpoint/log intervals scaled by ${b0} / batch`);
  const scaled = (key: string, b: number, min: number): string[] => {
    const v = getKey(eff, key);
    return typeof v === 'number' && v > 0 ? [`${key}=${Math.max(min, Math.round((v * b0) / b))}`] : [];
  };
  const points: SweepPoint[] = sizes.map((b) => {
    const lr = +(lr0 * Math.sqrt(b / b0)).toPrecision(4);
    return {
      label: `bs${b}`,
      unset: ['training.max_steps'],
      sets: [
        `${BATCH_KEY}=${b}`, `training.total_tokens=${tokens}`, ...lrSets(lr),
        ...scaled('training.warmup_iters', b, 0), ...scaled('training.cosine_cycle_iters', b, 1),
        ...scaled('eval.interval', b, 1), ...scaled('checkpoint.interval', b, 1), ...scaled('log.interval', b, 1),
      ],
    };
  });
  return { name: ctx.name ?? 'batch-size', preset: 'batch-size', base, points, keys: [BATCH_KEY, LR_KEY], notes };
}

// ── ablations ───────────────────────────────────────────────────────────────────────────────────────────────
const ABLATIONS: Record<string, (eff: Record<string, unknown>, lr: number) => SweepPoint[]> = {
  'no-rmsnorm': (_e, lr) => [
    { label: 'no-rmsnorm', sets: ['model.norm="none"', ...lrSets(lr)] },
    { label: `no-rmsnorm-lr${fmtLr(lr / 2)}`, sets: ['model.norm="none"', ...lrSets(lr / 2)] },
  ],
  'post-norm': (_e, lr) => [{ label: 'post-norm', sets: ['model.norm="post"', ...lrSets(lr)] }],
  nope: (_e, lr) => [{ label: 'nope', sets: ['model.pos="nope"', ...lrSets(lr)] }],
  silu: (e, lr) => [{ label: 'silu', sets: ['model.ffn="silu"', `model.d_ff=${4 * Number(getKey(e, 'model.d_model'))}`, ...lrSets(lr)] }],
  tied: (_e, lr) => [{ label: 'tied', sets: ['model.tie_embeddings=true', ...lrSets(lr)] }],
};
const ABLATION_KEYS = ['model.norm', 'model.pos', 'model.ffn', 'model.d_ff', 'model.tie_embeddings', LR_KEY];

function planAblations(ctx: PresetContext, base: Record<string, unknown>, which: string[], name: string): SweepPlan {
  const { lr, note } = bestLr(ctx, base);
  const eff = effective(base, ctx.sets);
  const points: SweepPoint[] = [{ label: 'baseline', sets: lrSets(lr) }, ...which.flatMap((w) => ABLATIONS[w](eff, lr))];
  return { name: ctx.name ?? name, preset: name, base, points, keys: ABLATION_KEYS, notes: [note, 'each variant at that lr against the baseline at the same lr'] };
}

// ── presets ─────────────────────────────────────────────────────────────────────────────────────────────────
/** The plan of a sweep preset. */
export function planPreset(name: string, ctx: PresetContext): SweepPlan {
  if (!(SWEEP_PRESETS as readonly string[]).includes(name)) {
    throw new UserError(`unknown sweep preset "${name}"; presets: ${SWEEP_PRESETS.join(', ')}`, { code: 'INVALID_ARGUMENT', data: { name } });
  }
  const p = name as SweepPresetName;
  const nm = ctx.name ?? p;
  switch (p) {
    case 'lr-coarse': {
      const base = ctx.base ?? defaultBase(ctx.workspace);
      const lrs = numbers(gridFor(ctx, LR_KEY) ?? [1e-4, 2e-4, 5e-4, 1e-3, 2e-3, 5e-3, 1e-2], LR_KEY);
      return { name: nm, preset: p, base, keys: [LR_KEY], points: lrs.map((lr) => ({ label: `lr${fmtLr(lr)}`, sets: lrSets(lr) })), notes: ['min lr = 0.1 × max lr'] };
    }
    case 'lr-fine': {
      const { sweep, results } = finishedLrResults(ctx.workspace, ['lr-coarse'], ctx.from);
      if (!results.length) {
        throw new UserError(ctx.from ? `sweep ${ctx.from} has no finished run with a validation loss yet` : 'no lr-coarse sweep has a finished run with a validation loss yet; run the lr-coarse sweep first', {
          code: 'INVALID_ARGUMENT', data: { from: ctx.from },
        });
      }
      const best = results[0];
      const base = ctx.base ?? best.config;
      const lrs = gridFor(ctx, LR_KEY) ? numbers(gridFor(ctx, LR_KEY)!, LR_KEY) : [0.5, 0.7, 1.4, 2].map((f) => +(best.lr * f).toPrecision(3));
      return {
        name: nm, preset: p, base, keys: [LR_KEY], points: lrs.map((lr) => ({ label: `lr${fmtLr(lr)}`, sets: lrSets(lr) })),
        notes: [`around the best run of ${sweep?.name}: ${best.id} at lr ${best.lr} (val loss ${best.val_loss.toFixed(4)})`, 'min lr = 0.1 × max lr'],
      };
    }
    case 'lr-edge': {
      const base = ctx.base ?? defaultBase(ctx.workspace);
      const given = gridFor(ctx, LR_KEY);
      let lrs: number[];
      const notes: string[] = [];
      if (given) lrs = numbers(given, LR_KEY).sort((a, b) => a - b);
      else {
        const { lr, note } = bestLr(ctx, base);
        notes.push(note);
        lrs = Array.from({ length: 10 }, (_, k) => +(lr * 2 ** k).toPrecision(4));
      }
      notes.push('a doubling ladder queued at once, lowest lr first; when a run diverges the worker cancels the higher rungs still queued');
      return { name: nm, preset: p, base, keys: [LR_KEY], rules: { stop_when_diverged: LR_KEY }, points: lrs.map((lr) => ({ label: `lr${fmtLr(lr)}`, sets: lrSets(lr) })), notes };
    }
    case 'batch-size':
      return planBatchSize(ctx, ctx.base ?? defaultBase(ctx.workspace));
    case 'ablations':
      return planAblations(ctx, ctx.base ?? defaultBase(ctx.workspace), Object.keys(ABLATIONS), 'ablations');
    case 'ablation-no-rmsnorm':
    case 'ablation-post-norm':
    case 'ablation-nope':
    case 'ablation-silu':
    case 'ablation-tied':
      return planAblations(ctx, ctx.base ?? defaultBase(ctx.workspace), [p.slice('ablation-'.length)], p);
    case 'owt-main':
    case 'tinystories-base':
    case 'tinystories-lowres':
    case 'leaderboard': {
      // One run each: the trainer's preset of that name (with `sets` on top), as a sweep of one so it is grouped.
      const base = ctx.base ?? basePreset(p, ctx.workspace);
      const points = ctx.grids?.length ? gridPoints(ctx.grids) : [{ label: 'base', sets: [] }];
      return { name: nm, preset: p, base, points, notes: [] };
    }
  }
}
