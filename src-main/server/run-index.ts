/**
 * The backend's in-memory view of a workspace's runs: one RunSummary per run folder, rebuilt for a run only when
 * its status.json, meta.json or config.json changed (by mtime and size) and, for runs without figures in
 * status.json, from an incremental read of metrics.jsonl. Listing 5,000 unchanged runs is stat calls only.
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { flattenConfig } from '../runs/diff';
import { RUN_FILES } from '../runs/format';
import { listRunIds, readConfig, readMeta, readStatus, runDir } from '../runs/read';
import type { RunSummary } from '../api/contract';
import { MetricsStats } from './tail';

/** Config values shown as columns of the Runs table (dotted keys of config.json). */
export const KEY_CONFIG = [
  'model.d_model',
  'model.num_layers',
  'model.num_heads',
  'model.context_length',
  'model.norm',
  'model.pos',
  'model.ffn',
  'training.batch_size',
  'training.max_learning_rate',
  'training.max_steps',
  'training.total_tokens',
] as const;

function stamp(path: string): string {
  try {
    const s = statSync(path);
    return `${s.mtimeMs}:${s.size}`;
  } catch {
    return '-';
  }
}

interface Entry {
  stamp: string;
  metricsStamp: string;
  summary: RunSummary;
  stats: MetricsStats;
}

export class RunIndex {
  private entries = new Map<string, Entry>();

  constructor(readonly workspace: string) {}

  dir(id: string): string {
    return runDir(this.workspace, id);
  }

  /** Every run's summary, refreshing what changed on disk. Returns the list and which ids changed/vanished. */
  refresh(): { runs: RunSummary[]; changed: RunSummary[]; removed: string[] } {
    const ids = listRunIds(this.workspace);
    const seen = new Set(ids);
    const removed = [...this.entries.keys()].filter((id) => !seen.has(id));
    for (const id of removed) this.entries.delete(id);
    const changed: RunSummary[] = [];
    const runs = ids.map((id) => {
      const before = this.entries.get(id);
      const after = this.refreshOne(id);
      if (!before || before.summary !== after.summary) changed.push(after.summary);
      return after.summary;
    });
    return { runs, changed, removed };
  }

  /** The summaries as last read (no disk access). */
  cached(): RunSummary[] {
    return [...this.entries.values()].map((e) => e.summary);
  }

  /** One run's summary as last read (no disk access). */
  peek(id: string): RunSummary | undefined {
    return this.entries.get(id)?.summary;
  }

  /** One run's summary, re-read if its files changed; undefined when the run does not exist. */
  get(id: string): RunSummary | undefined {
    if (!this.entries.has(id) && !listRunIds(this.workspace).includes(id)) return undefined;
    return this.refreshOne(id).summary;
  }

  /** Re-reads one run; the returned entry's summary object is new only if something changed. */
  refreshOne(id: string): Entry {
    const dir = this.dir(id);
    const s = [RUN_FILES.status, RUN_FILES.meta, RUN_FILES.config].map((f) => stamp(join(dir, f))).join('|');
    const ms = stamp(join(dir, RUN_FILES.metrics));
    const cur = this.entries.get(id);
    if (cur && cur.stamp === s && cur.metricsStamp === ms) return cur;
    const stats = cur?.stats ?? new MetricsStats(join(dir, RUN_FILES.metrics));
    const status = readStatus(dir);
    // Figures from status.json when the trainer wrote them; from metrics.jsonl otherwise (cheap: incremental).
    const needMetrics = !status || status.best_val_loss === undefined || status.tokens_per_s === undefined;
    if (needMetrics && (!cur || cur.metricsStamp !== ms)) stats.update();
    const entry: Entry = { stamp: s, metricsStamp: ms, stats, summary: summarize(id, dir, status, stats) };
    this.entries.set(id, entry);
    return entry;
  }
}

function summarize(id: string, dir: string, status: ReturnType<typeof readStatus>, stats: MetricsStats): RunSummary {
  const meta = readMeta(dir);
  const config = readConfig(dir) ?? {};
  const flat = flattenConfig(config);
  const keyConfig: Record<string, unknown> = {};
  for (const k of KEY_CONFIG) if (k in flat) keyConfig[k] = flat[k];
  const sweepKeys = meta?.sweep?.keys ?? {};
  for (const k of Object.keys(sweepKeys)) if (k in flat) keyConfig[k] = flat[k];
  const num = (x: number | undefined | null) => (x === undefined || x === null || !Number.isFinite(x) ? null : x);
  return {
    id,
    name: meta?.name ?? (typeof config.name === 'string' ? config.name : id),
    state: status?.state ?? null,
    sweep: meta?.sweep?.name ?? null,
    group: meta?.group ?? null,
    sweepKeys,
    tags: meta?.tags ?? [],
    config: keyConfig,
    step: num(status?.step) ?? stats.lastStep,
    totalSteps: num(status?.total_steps),
    bestValLoss: num(status?.best_val_loss) ?? stats.bestValLoss,
    finalLoss: num(status?.final_loss) ?? num(stats.finalLoss),
    tokensPerS: num(status?.tokens_per_s) ?? stats.tokensPerS,
    elapsedS: num(status?.elapsed_s) ?? stats.elapsedS,
    restarts: status?.restarts.length ?? 0,
    where: status?.backend ?? null,
    created: status?.created ?? null,
    updated: status?.updated ?? null,
  };
}
