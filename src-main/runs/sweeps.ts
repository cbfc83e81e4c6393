/**
 * Sweeps: a named group of queued runs, one per point, each point a set of overrides on one base config. Every run
 * of a sweep records the sweep's name and its values of the swept keys in meta.json (`sweep: {name, keys}`,
 * `group`), so reports and the app colour and compare by them; the sweep itself is recorded in
 * `<workspace>/sweeps/<name>.json` (preset, base, points, rules).
 *
 * Grids (`key=v1,v2,…`, several keys: the cartesian product) and the CS336 §7 presets are built here as pure
 * plans (planX functions); queueSweep validates every point's config first, then queues them all in order.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../util/atomic-write';
import { UserError } from '../util/errors';
import { getKey, resolveRunConfig } from './configs';
import { readStatus, runDir } from './read';
import { createRun } from './store';

export const SWEEPS_DIR = 'sweeps';

export interface SweepPoint {
  /** Short label, part of the run name ("lr1e-3", "bs64", "no-rmsnorm"). */
  label: string;
  /** Overrides on the base config. */
  sets: string[];
  /** Keys to remove from the base first. */
  unset?: string[];
}

export interface SweepRules {
  /** lr-edge: once a run diverges, cancel the sweep's queued runs with a larger value of this key. */
  stop_when_diverged?: string;
}

export interface SweepPlan {
  /** The sweep's name (made unique in the workspace when queued). */
  name: string;
  preset?: string;
  base: Record<string, unknown>;
  points: SweepPoint[];
  rules?: SweepRules;
  /** The keys to record as swept (default: every key a point sets). */
  keys?: string[];
  /** What the user should know: the lr rule, where the best lr came from, the batch cap… */
  notes: string[];
}

/** The record of a queued sweep. */
export interface SweepRecord {
  name: string;
  preset?: string;
  created: string;
  /** The swept keys (dotted config paths). */
  keys: string[];
  runs: Array<{ id: string; label: string }>;
  rules?: SweepRules;
  notes: string[];
}

// ── grids ───────────────────────────────────────────────────────────────────────────────────────────────────
/** Parses `key=v1,v2,…` (values JSON where they parse, else strings). */
export function parseGrid(spec: string): { key: string; values: unknown[] } {
  const eq = spec.indexOf('=');
  if (eq <= 0 || eq === spec.length - 1) {
    throw new UserError(`a grid is key=v1,v2,… (like training.max_learning_rate=1e-3,3e-3), got "${spec}"`, { code: 'INVALID_ARGUMENT', data: { spec } });
  }
  const key = spec.slice(0, eq);
  const values = spec.slice(eq + 1).split(',').map((t) => {
    try {
      return JSON.parse(t) as unknown;
    } catch {
      return t;
    }
  });
  return { key, values };
}

const fmtValue = (v: unknown): string => (typeof v === 'number' && v !== 0 && (Math.abs(v) < 1e-3 || Math.abs(v) >= 1e5) ? v.toExponential().replace('e+', 'e') : String(v));
const shortKey = (k: string): string =>
  ({ 'training.max_learning_rate': 'lr', 'training.batch_size': 'bs', 'model.norm': 'norm', 'model.pos': 'pos', 'model.ffn': 'ffn' } as Record<string, string>)[k] ?? k.split('.').pop()!;

/** The cartesian product of grids, in order (the last grid varies fastest). */
export function gridPoints(grids: Array<{ key: string; values: unknown[] }>): SweepPoint[] {
  let points: SweepPoint[] = [{ label: '', sets: [] }];
  for (const g of grids) {
    const next: SweepPoint[] = [];
    for (const p of points) {
      for (const v of g.values) {
        next.push({ label: [p.label, `${shortKey(g.key)}${fmtValue(v)}`].filter(Boolean).join('-'), sets: [...p.sets, `${g.key}=${JSON.stringify(v)}`] });
      }
    }
    points = next;
  }
  return points;
}

/** Keys a point sets (its `sets`' left-hand sides). */
function pointKeys(p: SweepPoint): string[] {
  return p.sets.map((s) => s.slice(0, s.indexOf('=')));
}

// ── queueing ────────────────────────────────────────────────────────────────────────────────────────────────
function uniqueSweepName(workspace: string, name: string): string {
  const dir = join(workspace, SWEEPS_DIR);
  if (!existsSync(join(dir, `${name}.json`))) return name;
  for (let n = 2; ; n++) if (!existsSync(join(dir, `${name}-${n}.json`))) return `${name}-${n}`;
}

export function readSweep(workspace: string, name: string): SweepRecord | undefined {
  try {
    return JSON.parse(readFileSync(join(workspace, SWEEPS_DIR, `${name}.json`), 'utf8')) as SweepRecord;
  } catch {
    return undefined;
  }
}

export function listSweeps(workspace: string): SweepRecord[] {
  const dir = join(workspace, SWEEPS_DIR);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .map((f) => readSweep(workspace, f.slice(0, -5)))
    .filter((s): s is SweepRecord => s !== undefined)
    .sort((a, b) => a.created.localeCompare(b.created));
}

export interface QueuedSweep {
  name: string;
  runs: Array<{ id: string; label: string; keys: Record<string, unknown> }>;
  keys: string[];
  notes: string[];
}

/**
 * Queues one run per point (in point order). Extra `sets` apply to the base first (to scale a preset down);
 * every point's config is validated before any run is created, so a bad point queues nothing.
 */
export function queueSweep(workspace: string, plan: SweepPlan, o: { sets?: string[]; baseDir: string; now?: Date }): QueuedSweep {
  if (!plan.points.length) throw new UserError(`sweep ${plan.name} has no points`, { code: 'INVALID_ARGUMENT' });
  const name = uniqueSweepName(workspace, plan.name);
  const keys = plan.keys ?? [...new Set(plan.points.flatMap(pointKeys))];
  const configs = plan.points.map((p) =>
    resolveRunConfig(plan.base, { sets: [...(o.sets ?? []), ...p.sets], unset: p.unset, name: `${name}-${p.label || 'base'}`, baseDir: o.baseDir }),
  );
  const now = (o.now ?? new Date()).getTime();
  const runs = configs.map((config, i) => {
    const k = Object.fromEntries(keys.map((key) => [key, getKey(config, key) ?? null]));
    const { id } = createRun(workspace, {
      config,
      meta: { name: String(config.name), group: name, sweep: { name, keys: k } },
      status: { priority: now + i / 1000 },
      now: new Date(now),
    });
    return { id, label: plan.points[i].label, keys: k };
  });
  const record: SweepRecord = {
    name, preset: plan.preset, created: new Date(now).toISOString(), keys,
    runs: runs.map((r) => ({ id: r.id, label: r.label })), rules: plan.rules, notes: plan.notes,
  };
  mkdirSync(join(workspace, SWEEPS_DIR), { recursive: true });
  writeFileAtomic(join(workspace, SWEEPS_DIR, `${name}.json`), `${JSON.stringify(record, null, 2)}\n`);
  return { name, runs, keys, notes: plan.notes };
}

// ── results of earlier sweeps ───────────────────────────────────────────────────────────────────────────────
export interface SweepResult {
  id: string;
  lr: number;
  val_loss: number;
  config: Record<string, unknown>;
}

/** The finished (done) runs of sweeps made by `presets`, best final val loss first; `sweepName` picks one sweep. */
export function finishedLrResults(workspace: string, presets: string[], sweepName?: string): { sweep?: SweepRecord; results: SweepResult[] } {
  const sweeps = listSweeps(workspace).filter((s) => (sweepName ? s.name === sweepName : s.preset !== undefined && presets.includes(s.preset)));
  for (const sweep of sweeps.reverse()) {
    const results: SweepResult[] = [];
    for (const r of sweep.runs) {
      const dir = runDir(workspace, r.id);
      const s = readStatus(dir);
      const loss = s?.final_val_loss ?? s?.best_val_loss;
      if (s?.state !== 'done' || loss === undefined || !Number.isFinite(loss)) continue;
      const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
      const lr = getKey(config, 'training.max_learning_rate');
      if (typeof lr === 'number') results.push({ id: r.id, lr, val_loss: loss, config });
    }
    if (results.length) return { sweep, results: results.sort((a, b) => a.val_loss - b.val_loss) };
    if (sweepName) return { sweep, results: [] };
  }
  return { results: [] };
}

