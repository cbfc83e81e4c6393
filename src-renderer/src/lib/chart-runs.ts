/**
 * ChartRuns for the charts module from what the stores hold (metrics records + the run's summary), cached per run
 * and metrics version so a live update re-derives only the runs that changed. Also the tooltip lookup: a curve's
 * raw and smoothed value at an x.
 */
import { seriesFromRecords, lowerBound, type ChartRun, type PreparedCurve } from '../../../src-main/charts';
import type { RunSummary } from '../../../src-main/api/contract';
import type { RunMetrics } from '../stores/metrics';

const cache = new Map<string, { version: number; summary: RunSummary | undefined; run: ChartRun }>();

export function chartRun(id: string, version: number, metrics: RunMetrics | undefined, summary: RunSummary | undefined): ChartRun {
  const hit = cache.get(id);
  if (hit && hit.version === version && hit.summary === summary) return hit.run;
  const run: ChartRun = {
    id,
    name: !summary || id.startsWith(summary.name) ? id : `${summary.name} · ${id}`,
    state: summary?.state ?? undefined,
    keys: { ...(summary?.config ?? {}), ...(summary?.sweepKeys ?? {}) },
    metrics: seriesFromRecords(metrics?.records ?? []),
  };
  cache.set(id, { version, summary, run });
  return run;
}

/** Index of the point at or just before x (the last one logged up to x), or -1. */
export function indexAt(c: PreparedCurve, x: number): number {
  const i = lowerBound(c.x, x);
  if (i < c.x.length && c.x[i] === x) return i;
  return i - 1;
}
