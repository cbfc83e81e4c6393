/**
 * From metrics.jsonl records to the chart builder's input: one full-resolution series per metric (train, eval and
 * diag metrics, each on the three x-axes), and a ChartRun from a run's records, meta and status. A resumed run that
 * re-logged steps keeps the later lines (x stays non-decreasing). Pure: the caller reads the files (see load.ts).
 */
import type { MetricRecord, RunMeta, RunStatus } from '../runs/format';
import { flattenConfig } from '../runs/diff';
import type { ChartRun, MetricKey, MetricSeries } from './types';

class SeriesBuilder {
  step: number[] = [];
  tokens: number[] = [];
  elapsed_s: number[] = [];
  y: number[] = [];
  push(r: { step: number; tokens: number; elapsed_s: number }, v: number | null | undefined): void {
    // A step at or before the last one: the run was resumed from an earlier checkpoint; the newer lines win.
    while (this.step.length && this.step[this.step.length - 1] >= r.step) {
      this.step.pop();
      this.tokens.pop();
      this.elapsed_s.pop();
      this.y.pop();
    }
    this.step.push(r.step);
    this.tokens.push(r.tokens);
    this.elapsed_s.push(r.elapsed_s);
    this.y.push(typeof v === 'number' ? v : NaN);
  }
  done(): MetricSeries {
    return { step: Float64Array.from(this.step), tokens: Float64Array.from(this.tokens), elapsed_s: Float64Array.from(this.elapsed_s), y: Float64Array.from(this.y) };
  }
}

/** Every metric in the records, by MetricKey (see types.ts). */
export function seriesFromRecords(records: readonly MetricRecord[]): Record<MetricKey, MetricSeries> {
  const b = new Map<MetricKey, SeriesBuilder>();
  const add = (key: MetricKey, r: MetricRecord, v: number | null | undefined) => {
    let s = b.get(key);
    if (!s) b.set(key, (s = new SeriesBuilder()));
    s.push(r, v);
  };
  for (const r of records) {
    if (r.kind === 'train') {
      add('loss', r, r.loss);
      add('lr', r, r.lr);
      add('grad_norm', r, r.grad_norm);
      add('tokens_per_s', r, r.tokens_per_s);
      if (r.loss_scale !== undefined) add('loss_scale', r, r.loss_scale);
    } else if (r.kind === 'eval') {
      add('val_loss', r, r.val_loss);
      if (r.val_ppl !== undefined) add('val_ppl', r, r.val_ppl);
    } else {
      r.residual_rms.forEach((v, i) => add(`residual_rms.${i}`, r, v));
      for (const [g, v] of Object.entries(r.weight_norm)) add(`weight_norm.${g}`, r, v);
      for (const [g, v] of Object.entries(r.grad_norm)) add(`grad_norm.${g}`, r, v);
    }
  }
  return Object.fromEntries([...b].map(([k, s]) => [k, s.done()]));
}

/**
 * A ChartRun from what a run folder holds: name from meta (else the id), state from status, keys = the flattened
 * config with the sweep's keys over it (so `colorBy` finds "optimizer.lr" either way).
 */
export function chartRunFromRecords(input: {
  id: string;
  records: readonly MetricRecord[];
  meta?: RunMeta;
  status?: RunStatus;
  config?: Record<string, unknown>;
}): ChartRun {
  const keys: Record<string, unknown> = { ...(input.config ? flattenConfig(input.config) : {}), ...(input.meta?.sweep?.keys ?? {}) };
  return {
    id: input.id,
    name: input.meta?.name || input.id,
    state: input.status?.state,
    keys,
    metrics: seriesFromRecords(input.records),
  };
}
