/**
 * The one typed API between the workbench UI (untrusted renderer) and its backend, shared by the Electron IPC
 * bridge and `lmwb serve` (HTTP + WebSocket). Requests are `{method, params}`; each method has a zod schema for its
 * params (validated in the backend, never trusted from the renderer) and a TypeScript result type. Events pushed
 * to the UI are a discriminated union on `type`, plain JSON. Runs are named by id (a folder name under
 * `<workspace>/runs/`), never by a path. Pure: no node: imports (the renderer bundles this file).
 */
import { z } from 'zod';
import type { ConfigDiff } from '../runs/diff';
import type { MetricRecord, RunMeta, RunState, RunStatus, SampleRecord } from '../runs/format';
import { CheckpointsMethods, type CheckpointsEvent, type CheckpointsResults } from './areas/checkpoints';
import { DatasetsMethods, type DatasetsEvent, type DatasetsResults } from './areas/datasets';
import { NewRunMethods, type NewRunEvent, type NewRunResults } from './areas/new-run';
import { PlaygroundMethods, type PlaygroundEvent, type PlaygroundResults } from './areas/playground';
import { QueueMethods, type QueueEvent, type QueueResults } from './areas/queue';

/** A run id: one folder name, no separators or dot-dot (so it can never name a path outside the workspace). */
export const RunIdSchema = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._=+-]*$/, 'a run id is one folder name of letters, digits and . _ = + -');

const Tag = z.string().trim().min(1).max(64).regex(/^[^\s,]+$/, 'a tag has no spaces or commas');

/** The x-axes a chart can use (metrics.jsonl fields). */
export const X_AXES = ['step', 'elapsed_s', 'tokens'] as const;
export type XAxis = (typeof X_AXES)[number];

export const ExportFormatSchema = z.enum(['png', 'svg', 'csv']);
export type ExportFormat = z.infer<typeof ExportFormatSchema>;

export const SmoothingSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('none') }).strict(),
  z.object({ kind: z.literal('ema'), weight: z.number().min(0).max(0.999) }).strict(),
  z.object({ kind: z.literal('time-ema'), weight: z.number().min(0).max(0.999) }).strict(),
  z.object({ kind: z.literal('moving-average'), window: z.number().int().min(1).max(10_001) }).strict(),
]);

/**
 * What a chart shows, in data terms (the charts module's ChartSpec plus the runs): the backend rebuilds the same
 * chart from the run files for an export, so what is exported is what is plotted.
 */
export const ChartSpecSchema = z
  .object({
    runs: z.array(RunIdSchema).min(1).max(500),
    /** Metric keys: 'loss' | 'val_loss' | 'lr' | 'grad_norm' | 'tokens_per_s' | 'grad_norm.<group>' … */
    metrics: z.array(z.string().min(1).max(200)).min(1).max(20),
    x: z.enum(X_AXES).default('step'),
    yScale: z.enum(['linear', 'log']).default('linear'),
    smoothing: SmoothingSchema.default({ kind: 'ema', weight: 0.6 }),
    target: z.number().nullable().optional(),
    colorBy: z.string().max(200).optional(),
    title: z.string().max(200).optional(),
    /** Runs hidden in the legend (not exported). */
    hidden: z.array(RunIdSchema).default([]),
    /** The visible x-range (a zoomed chart exports what is shown). */
    range: z.tuple([z.number(), z.number()]).optional(),
  })
  .strict();
export type ChartSpec = z.infer<typeof ChartSpecSchema>;

export const ExportOptionsSchema = z
  .object({
    format: ExportFormatSchema,
    /** Output size in pixels (PNG; the SVG is laid out alike), as `lmwb report` takes it. */
    width: z.number().int().min(100).max(8000).default(2000),
    height: z.number().int().min(100).max(8000).default(1200),
    /** Text and line scale, as a matplotlib figure's dpi: the chart is laid out at width·96/dpi CSS pixels. */
    dpi: z.number().int().min(48).max(600).default(200),
    background: z.enum(['white', 'transparent']).default('white'),
  })
  .strict();
export type ExportOptions = z.infer<typeof ExportOptionsSchema>;

/** Every method: its params schema (the core ones here, each view's area in ./areas/). */
export const Methods = {
  ...NewRunMethods,
  ...QueueMethods,
  ...CheckpointsMethods,
  ...PlaygroundMethods,
  ...DatasetsMethods,
  /** The workspace the backend serves and what it can do. */
  'workspace.info': z.object({}).strict(),
  /** Every run's summary (the Runs table). */
  'runs.list': z.object({}).strict(),
  /** One run: config, status, meta, samples. */
  'runs.get': z.object({ id: RunIdSchema }).strict(),
  /** A run's metrics.jsonl records from byte `from` (0: all); `offset` in the result is where to continue. */
  'runs.metrics': z.object({ id: RunIdSchema, from: z.number().int().nonnegative().default(0) }).strict(),
  /** Edit the user's fields of meta.json (written atomically). */
  'runs.updateMeta': z
    .object({
      id: RunIdSchema,
      name: z.string().trim().min(1).max(200).optional(),
      tags: z.array(Tag).max(64).optional(),
      notes: z.string().max(100_000).optional(),
    })
    .strict(),
  /** Only the config keys that differ between the runs (the first is the baseline). */
  'runs.diff': z.object({ ids: z.array(RunIdSchema).min(1).max(500) }).strict(),
  /** Start a training run from a preset with overrides (`key=value`); returns its id. */
  'runs.start': z
    .object({
      preset: z.enum(['smoke']).default('smoke'),
      set: z.array(z.string().max(500).regex(/^[A-Za-z0-9_.]+=/, 'an override is key=value')).max(64).default([]),
      name: z.string().trim().min(1).max(100).regex(/^[A-Za-z0-9._-]+$/, 'a name is letters, digits and . _ -').optional(),
    })
    .strict(),
  /** Pause a running or queued run (the trainer checkpoints first; it can be resumed bit for bit). */
  'runs.stop': z.object({ id: RunIdSchema }).strict(),
  /** Put a paused, cancelled or failed run back in the queue (it resumes from its newest checkpoint). */
  'runs.resume': z.object({ id: RunIdSchema }).strict(),
  /** Render a chart to PNG, SVG or CSV (base64 bytes; the UI saves or downloads it). */
  'charts.export': z.object({ spec: ChartSpecSchema, options: ExportOptionsSchema }).strict(),
  /** Desktop app only: pick another workspace folder in a dialog the user answers (remembered). */
  'workspace.choose': z.object({}).strict(),
  /** Tell the backend which runs' metrics this client wants pushed live. */
  'live.subscribe': z
    .object({
      /** Each run with the byte offset the client has read up to (from runs.metrics); [] unsubscribes all. */
      runs: z.array(z.object({ id: RunIdSchema, from: z.number().int().nonnegative() }).strict()).max(500),
    })
    .strict(),
} as const;

export type Method = keyof typeof Methods;
export type Params<M extends Method> = z.input<(typeof Methods)[M]>;
export type ParsedParams<M extends Method> = z.infer<(typeof Methods)[M]>;

// ── results ───────────────────────────────────────────────────────────────────────────────────────────────
export interface WorkspaceInfo {
  workspace: string;
  /** How many runs it holds (the first-launch screen offers the smoke run when 0). */
  runCount: number;
  /** Can the backend start runs (spawn trainers)? */
  canTrain: boolean;
  /** Which front end serves the UI: the desktop app (dialogs available) or `lmwb serve`. */
  host: 'electron' | 'serve';
  version: string;
}

/** One row of the Runs table. */
export interface RunSummary {
  id: string;
  name: string;
  /** null: no status.json (a run made outside the queue, or before it existed). */
  state: RunState | null;
  sweep: string | null;
  group: string | null;
  /** The swept keys' values (meta.sweep.keys). */
  sweepKeys: Record<string, unknown>;
  tags: string[];
  /** Key config values for the table (flattened dotted keys). */
  config: Record<string, unknown>;
  step: number | null;
  totalSteps: number | null;
  bestValLoss: number | null;
  finalLoss: number | null;
  tokensPerS: number | null;
  elapsedS: number | null;
  restarts: number;
  /** Where it trains or trained: status.json's backend ("local", "local:gpu1", "slurm:123"), null when unknown. */
  where: string | null;
  created: string | null;
  updated: string | null;
}

export interface RunDetail {
  summary: RunSummary;
  config: Record<string, unknown>;
  status: RunStatus | null;
  meta: RunMeta;
  samples: SampleRecord[];
  checkpoints: Array<{ file: string; step: number; bytes: number }>;
}

export interface MetricsChunk {
  id: string;
  /** Byte offset these records start at, and the offset after the last complete line. */
  from: number;
  offset: number;
  /** Records with non-finite values as null (JSON has no NaN). */
  records: MetricRecord[];
  /** The file was rewritten (shorter than before, e.g. a run restarted from scratch): drop what you had. */
  reset: boolean;
}

export interface ExportResult {
  filename: string;
  mime: string;
  /** The file's bytes, base64. */
  base64: string;
  /** PNG only: pixel size. */
  width?: number;
  height?: number;
}

export interface Results extends NewRunResults, QueueResults, CheckpointsResults, PlaygroundResults, DatasetsResults {
  'workspace.info': WorkspaceInfo;
  'runs.list': RunSummary[];
  'runs.get': RunDetail;
  'runs.metrics': MetricsChunk;
  'runs.updateMeta': RunMeta;
  'runs.diff': ConfigDiff;
  'runs.start': { id: string };
  'runs.stop': { id: string; state: RunState | null };
  'runs.resume': { id: string; state: RunState };
  'charts.export': ExportResult;
  'live.subscribe': { ids: string[] };
  'workspace.choose': WorkspaceInfo | null;
}
export type Result<M extends Method> = Results[M];

// ── events (backend → UI) ────────────────────────────────────────────────────────────────────────────────
/** Run rows that changed (added or updated), and ids that disappeared. At most ~10 a second. */
export interface RunsEvent {
  type: 'runs';
  changed: RunSummary[];
  removed: string[];
}
/** New metrics lines of subscribed runs, batched (never one message per step). */
export interface MetricsEvent {
  type: 'metrics';
  chunks: MetricsChunk[];
}
export interface NoticeEvent {
  type: 'notice';
  level: 'info' | 'warning' | 'error';
  message: string;
}
/** The desktop app switched to another workspace (File › Open Workspace…): reload everything. */
export interface WorkspaceEvent {
  type: 'workspace';
  info: WorkspaceInfo;
}
export type ApiEvent =
  | RunsEvent
  | MetricsEvent
  | NoticeEvent
  | WorkspaceEvent
  | NewRunEvent
  | QueueEvent
  | CheckpointsEvent
  | PlaygroundEvent
  | DatasetsEvent;

// ── the wire ────────────────────────────────────────────────────────────────────────────────────────────
export const RequestSchema = z.object({ method: z.string().max(100), params: z.unknown().optional() }).strict();

/** An API error as it crosses to the UI. */
export interface ApiErrorInfo {
  code: string;
  message: string;
}
export type Response<M extends Method = Method> = { ok: true; result: Result<M> } | { ok: false; error: ApiErrorInfo };

export function isMethod(m: string): m is Method {
  return Object.prototype.hasOwnProperty.call(Methods, m);
}

/**
 * Validates a raw request from an untrusted client: a known method and params of the right shape. Returns the
 * parsed params (defaults applied) or a one-line error naming the bad field.
 */
export function parseRequest(raw: unknown): { ok: true; method: Method; params: unknown } | { ok: false; error: ApiErrorInfo } {
  const r = RequestSchema.safeParse(raw);
  if (!r.success) return { ok: false, error: { code: 'INVALID_ARGUMENT', message: 'a request is {"method": string, "params": object}' } };
  const { method } = r.data;
  if (!isMethod(method)) return { ok: false, error: { code: 'INVALID_ARGUMENT', message: `unknown method "${method}"` } };
  const p = Methods[method].safeParse(r.data.params ?? {});
  if (!p.success) {
    const issue = p.error.issues[0];
    const where = issue?.path.length ? issue.path.join('.') : 'params';
    return { ok: false, error: { code: 'INVALID_ARGUMENT', message: `${method}: ${where}: ${issue?.message ?? 'invalid'}` } };
  }
  return { ok: true, method, params: p.data };
}
