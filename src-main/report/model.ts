/**
 * The experiment log's content, computed from loaded runs (pure: no files): per-run results (final and best val
 * loss, wall time, throughput, status, time to the target), the grouping (one section per sweep or group), each
 * group's config diff (only differing keys, first run the baseline; runs/diff.ts) and the summary against the target.
 */
import { diffConfigs, type ConfigDiff } from '../runs/diff';
import type { MetricRecord, RunMeta, RunStatus, SampleRecord } from '../runs/format';
import { isDiverged } from '../charts/options';
import type { ChartRun } from '../charts/types';

/** What the report needs of a run (LoadedRun from charts/load.ts has all of it). */
export interface ReportRunInput {
  id: string;
  chart: ChartRun;
  records: readonly MetricRecord[];
  meta?: RunMeta;
  status?: RunStatus;
  config?: Record<string, unknown>;
  samples: readonly SampleRecord[];
}

export interface RunResult {
  id: string;
  name: string;
  state: string;
  diverged: boolean;
  importedFrom?: string;
  finalVal?: number;
  bestVal?: { value: number; step: number; elapsed_s: number };
  /** First evaluation at or below the target. */
  reached?: { step: number; elapsed_s: number; tokens: number };
  lastStep?: number;
  tokens?: number;
  wallS?: number;
  /** Median of the logged training throughput (robust to the first, warming-up steps). */
  tokensPerS?: number;
  gpu?: string;
  restarts: number;
}

export interface ReportGroup {
  /** "sweep lr-sweep", "group ablations" or "other runs". */
  title: string;
  kind: 'sweep' | 'group' | 'runs';
  /** File-name-safe, unique among groups. */
  slug: string;
  runs: ReportRunInput[];
  results: RunResult[];
  diff: ConfigDiff;
  /** The swept key runs are coloured by, when the group is a sweep. */
  colorBy?: string;
}

function median(v: number[]): number | undefined {
  if (!v.length) return undefined;
  const s = [...v].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export function runResult(r: ReportRunInput, target: number | null): RunResult {
  let finalVal: number | undefined;
  let bestVal: RunResult['bestVal'];
  let reached: RunResult['reached'];
  let last: MetricRecord | undefined;
  const tps: number[] = [];
  for (const rec of r.records) {
    last = rec;
    if (rec.kind === 'eval' && Number.isFinite(rec.val_loss ?? NaN)) {
      const v = rec.val_loss as number;
      finalVal = v;
      if (!bestVal || v < bestVal.value) bestVal = { value: v, step: rec.step, elapsed_s: rec.elapsed_s };
      if (target !== null && !reached && v <= target) reached = { step: rec.step, elapsed_s: rec.elapsed_s, tokens: rec.tokens };
    } else if (rec.kind === 'train' && Number.isFinite(rec.tokens_per_s) && rec.tokens_per_s > 0) tps.push(rec.tokens_per_s);
  }
  const st = r.status;
  return {
    id: r.id,
    name: r.chart.name,
    state: st?.state ?? (r.meta?.imported_from ? 'imported' : 'unknown'),
    diverged: isDiverged(r.chart),
    importedFrom: r.meta?.imported_from,
    finalVal: finalVal ?? st?.final_val_loss,
    bestVal: bestVal ?? (st?.best_val_loss !== undefined ? { value: st.best_val_loss, step: NaN, elapsed_s: NaN } : undefined),
    reached,
    lastStep: last?.step ?? st?.step,
    tokens: last?.tokens,
    wallS: st?.elapsed_s ?? last?.elapsed_s,
    tokensPerS: median(tps) ?? st?.tokens_per_s,
    gpu: st?.gpu,
    restarts: st?.restarts.length ?? 0,
  };
}

function slugify(s: string): string {
  return s.toLowerCase().replace(/[^a-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '') || 'runs';
}

/** One group per sweep (meta.sweep.name), then per meta.group, then the rest together; in first-seen order. */
export function groupRuns(runs: readonly ReportRunInput[], target: number | null): ReportGroup[] {
  const groups = new Map<string, { title: string; kind: ReportGroup['kind']; runs: ReportRunInput[] }>();
  for (const r of runs) {
    const key = r.meta?.sweep ? `sweep:${r.meta.sweep.name}` : r.meta?.group ? `group:${r.meta.group}` : 'runs:';
    let g = groups.get(key);
    if (!g) {
      const title = r.meta?.sweep ? `sweep ${r.meta.sweep.name}` : r.meta?.group ? `group ${r.meta.group}` : 'other runs';
      groups.set(key, (g = { title, kind: r.meta?.sweep ? 'sweep' : r.meta?.group ? 'group' : 'runs', runs: [] }));
    }
    g.runs.push(r);
  }
  const used = new Set<string>();
  const out: ReportGroup[] = [];
  for (const g of groups.values()) {
    let slug = slugify(g.title);
    for (let i = 2; used.has(slug); i++) slug = `${slugify(g.title)}-${i}`;
    used.add(slug);
    let colorBy: string | undefined;
    if (g.kind === 'sweep') {
      const keys = Object.keys(g.runs[0].meta?.sweep?.keys ?? {});
      colorBy = keys.find((k) => new Set(g.runs.map((r) => JSON.stringify(r.meta?.sweep?.keys?.[k]))).size > 1) ?? keys[0];
    }
    out.push({
      ...g, slug, colorBy,
      results: g.runs.map((r) => runResult(r, target)),
      diff: diffConfigs(g.runs.map((r) => r.config ?? {})),
    });
  }
  return out;
}

export interface ReportSummary {
  target: number | null;
  total: number;
  reached: RunResult[];
  diverged: RunResult[];
  /** Lowest best val loss over all runs. */
  best?: RunResult;
  /** Reached the target soonest in wall-clock time. */
  fastest?: RunResult;
}

export function summarize(groups: readonly ReportGroup[], target: number | null): ReportSummary {
  const all = groups.flatMap((g) => g.results);
  const withVal = all.filter((r) => r.bestVal);
  const reached = all.filter((r) => r.reached);
  return {
    target,
    total: all.length,
    reached,
    diverged: all.filter((r) => r.diverged),
    best: withVal.sort((a, b) => a.bestVal!.value - b.bestVal!.value)[0],
    fastest: [...reached].sort((a, b) => a.reached!.elapsed_s - b.reached!.elapsed_s)[0],
  };
}
