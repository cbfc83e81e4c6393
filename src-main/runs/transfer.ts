/**
 * Runs in and out of the store. Export: a run's metrics as CSV (one row per train/eval line, for spreadsheets and
 * pandas) or JSON lines (every record, diagnostics included). Import: a run written by the CS336 reference tracker
 * (a folder with config.json written once and metrics.jsonl lines of `step`, `wall_time_s`, `train/loss`,
 * `train/lr`, `train/tok_s`, `val/loss`) becomes a finished run in our format, so a PyTorch run overlays ours in
 * the charts, the diff and the report. Its original config is kept beside ours (imported-config.json).
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { writeFileAtomic } from '../util/atomic-write';
import { UserError } from '../util/errors';
import { flattenConfig } from './diff';
import { RUN_FILES, type EvalRecord, type MetricRecord, type TrainRecord } from './format';
import { readJsonl, readMetrics } from './read';
import { createRun, type CreatedRun } from './store';
import { z } from 'zod';

// ── export ──────────────────────────────────────────────────────────────────────────────────────────────────
export const CSV_COLUMNS = ['kind', 'step', 'tokens', 'elapsed_s', 'time', 'loss', 'lr', 'grad_norm', 'tokens_per_s', 'loss_scale', 'val_loss', 'val_ppl', 'val_tokens'] as const;

function csvCell(v: unknown): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'number') return Number.isNaN(v) ? 'NaN' : String(v);
  const s = String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** The run's train and eval lines as CSV (header + one row each, in file order). */
export function metricsCsv(records: MetricRecord[]): string {
  const rows = [CSV_COLUMNS.join(',')];
  for (const r of records) {
    if (r.kind === 'diag') continue;
    const o = r as Record<string, unknown>;
    rows.push(CSV_COLUMNS.map((c) => csvCell(o[c])).join(','));
  }
  return `${rows.join('\n')}\n`;
}

/** Every record as JSON lines (non-finite numbers as null, as in metrics.jsonl). */
export function metricsJsonl(records: MetricRecord[]): string {
  return records.map((r) => JSON.stringify(r, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v))).join('\n') + (records.length ? '\n' : '');
}

export function exportRun(dir: string, format: 'csv' | 'jsonl'): string {
  const { records } = readMetrics(dir);
  return format === 'csv' ? metricsCsv(records) : metricsJsonl(records);
}

// ── import (CS336 reference tracker) ────────────────────────────────────────────────────────────────────────
const TrackerLine = z
  .object({
    step: z.number().int().nonnegative(),
    wall_time_s: z.number().nonnegative().optional(),
    'train/loss': z.number().nullable().optional(),
    'train/lr': z.number().optional(),
    'train/tok_s': z.number().optional(),
    'train/grad_norm': z.number().nullable().optional(),
    'train/tokens': z.number().optional(),
    tokens: z.number().optional(),
    'val/loss': z.number().nullable().optional(),
    'val/ppl': z.number().nullable().optional(),
    time: z.union([z.string(), z.number()]).optional(),
    timestamp: z.union([z.string(), z.number()]).optional(),
  })
  .passthrough();

/** Our config keys and the names the tracker's config may use for them (matched on the last dotted segment). */
const CONFIG_MAP: Array<[string, string[]]> = [
  ['model.vocab_size', ['vocab_size']],
  ['model.context_length', ['context_length', 'seq_len', 'block_size']],
  ['model.d_model', ['d_model', 'n_embd']],
  ['model.num_layers', ['num_layers', 'n_layers', 'n_layer']],
  ['model.num_heads', ['num_heads', 'n_heads', 'n_head']],
  ['model.d_ff', ['d_ff']],
  ['model.rope_theta', ['rope_theta', 'theta']],
  ['training.batch_size', ['batch_size']],
  ['training.max_steps', ['max_steps', 'max_iters', 'total_steps', 'num_steps', 'iters']],
  ['training.max_learning_rate', ['max_learning_rate', 'max_lr', 'lr_max', 'learning_rate', 'lr']],
  ['training.min_learning_rate', ['min_learning_rate', 'min_lr', 'lr_min']],
  ['training.warmup_iters', ['warmup_iters', 'warmup_steps', 'warmup']],
  ['training.cosine_cycle_iters', ['cosine_cycle_iters']],
  ['training.weight_decay', ['weight_decay']],
  ['training.max_grad_norm', ['max_grad_norm', 'grad_clip', 'clip_grad_norm']],
  ['training.seed', ['seed']],
  ['data.train', ['train_path', 'train_data', 'train']],
  ['data.valid', ['valid_path', 'val_path', 'valid_data', 'val_data', 'valid']],
];

/** The tracker's config in our nested shape (keys it does not have are left out). */
export function mapTrackerConfig(src: Record<string, unknown>): Record<string, unknown> {
  const flat = flattenConfig(src);
  const byLast = new Map<string, unknown>();
  for (const [k, v] of Object.entries(flat)) {
    const last = k.split('.').pop()!;
    if (!byLast.has(last)) byLast.set(last, v);
  }
  const out: Record<string, Record<string, unknown>> = {};
  for (const [ours, names] of CONFIG_MAP) {
    const hit = names.find((n) => byLast.has(n));
    if (hit === undefined) continue;
    const [section, key] = ours.split('.');
    (out[section] ??= {})[key] = byLast.get(hit);
  }
  const name = typeof src.name === 'string' ? src.name : typeof src.run_name === 'string' ? src.run_name : undefined;
  return { ...(name ? { name } : {}), ...out };
}

function toIso(v: string | number | undefined, fallbackMs: number): string {
  if (typeof v === 'number') return new Date(v > 1e12 ? v : v * 1000).toISOString();
  if (typeof v === 'string' && !Number.isNaN(Date.parse(v))) return new Date(v).toISOString();
  return new Date(fallbackMs).toISOString();
}

/** Converts tracker lines to our records (a line with both train and val fields gives two). */
export function convertTrackerMetrics(lines: Array<z.infer<typeof TrackerLine>>, tokensPerStep: number | undefined, startMs: number): MetricRecord[] {
  const out: MetricRecord[] = [];
  const nan = (v: number | null | undefined) => (v === null ? NaN : v);
  for (const l of lines) {
    const elapsed = l.wall_time_s ?? 0;
    const axes = {
      step: l.step,
      tokens: l['train/tokens'] ?? l.tokens ?? (tokensPerStep ? l.step * tokensPerStep : 0),
      elapsed_s: elapsed,
      time: toIso(l.time ?? l.timestamp, startMs + elapsed * 1000),
    };
    if (l['train/loss'] !== undefined) {
      out.push({
        kind: 'train', ...axes, loss: nan(l['train/loss']) as number, lr: l['train/lr'] ?? NaN, grad_norm: nan(l['train/grad_norm'] ?? null) as number, tokens_per_s: l['train/tok_s'] ?? NaN,
      } satisfies TrainRecord);
    }
    if (l['val/loss'] !== undefined) {
      const v = nan(l['val/loss']) as number;
      out.push({ kind: 'eval', ...axes, val_loss: v, val_ppl: Number.isFinite(v) ? Math.exp(v) : NaN, val_tokens: 0 } satisfies EvalRecord);
    }
  }
  return out;
}

export const IMPORTED_CONFIG_FILE = 'imported-config.json';

/** Imports a CS336 tracker run folder as a finished run of the workspace. */
export function importTrackerRun(workspace: string, path: string, o: { name?: string } = {}): CreatedRun & { records: number; skipped: number } {
  const src = resolve(path);
  const cfgPath = join(src, 'config.json');
  const metricsPath = join(src, 'metrics.jsonl');
  if (!existsSync(cfgPath) || !existsSync(metricsPath)) {
    throw new UserError(`${src} is not a CS336 tracker run: it needs config.json and metrics.jsonl`, { code: 'FILE_NOT_FOUND', data: { path: src } });
  }
  let srcConfig: Record<string, unknown>;
  try {
    srcConfig = JSON.parse(readFileSync(cfgPath, 'utf8')) as Record<string, unknown>;
  } catch (e) {
    throw new UserError(`${cfgPath} is not valid JSON: ${(e as Error).message}`, { code: 'FILE_INVALID', data: { path: cfgPath } });
  }
  const read = readJsonl(metricsPath, TrackerLine);
  if (!read.records.length) throw new UserError(`${metricsPath} has no tracker lines (step with train/loss or val/loss)`, { code: 'FILE_INVALID', data: { path: metricsPath } });
  const config = mapTrackerConfig(srcConfig);
  const name = o.name ?? (typeof config.name === 'string' ? config.name : basename(src));
  config.name = name;
  const model = (config.model ?? {}) as Record<string, unknown>;
  const training = (config.training ?? {}) as Record<string, unknown>;
  const tokensPerStep = typeof training.batch_size === 'number' && typeof model.context_length === 'number' ? training.batch_size * model.context_length : undefined;
  const lastWall = Math.max(0, ...read.records.map((r) => r.wall_time_s ?? 0));
  const startMs = statSync(metricsPath).mtimeMs - lastWall * 1000;
  const records = convertTrackerMetrics(read.records, tokensPerStep, startMs);
  const evals = records.filter((r): r is EvalRecord => r.kind === 'eval' && Number.isFinite(r.val_loss ?? NaN));
  const trains = records.filter((r): r is TrainRecord => r.kind === 'train');
  const lastStep = Math.max(...read.records.map((r) => r.step));
  const finite = (x: number | null | undefined) => (typeof x === 'number' && Number.isFinite(x) ? x : undefined);
  const created = createRun(workspace, {
    config,
    meta: { name, imported_from: `cs336-tracker:${src}`, tags: ['imported'] },
    status: {
      state: 'done', created: new Date(startMs).toISOString(), started: new Date(startMs).toISOString(), ended: new Date(startMs + lastWall * 1000).toISOString(),
      step: lastStep, total_steps: typeof training.max_steps === 'number' && training.max_steps > 0 ? training.max_steps : lastStep || undefined,
      elapsed_s: lastWall, best_val_loss: finite(evals.length ? Math.min(...evals.map((e) => e.val_loss ?? NaN)) : undefined),
      final_val_loss: finite(evals[evals.length - 1]?.val_loss), final_loss: finite(trains[trains.length - 1]?.loss),
      tokens_per_s: finite(trains[trains.length - 1]?.tokens_per_s), backend: 'imported', priority: undefined,
    },
  });
  writeFileAtomic(join(created.dir, RUN_FILES.metrics), metricsJsonl(records));
  writeFileAtomic(join(created.dir, IMPORTED_CONFIG_FILE), `${JSON.stringify(srcConfig, null, 2)}\n`);
  return { ...created, records: records.length, skipped: read.skipped };
}
