/**
 * The run store's file formats: what a run folder `<workspace>/runs/<id>/` holds. This is the contract between the
 * trainer (writes), the queue (writes status), and every reader (CLI `runs`, charts, report, app). Each file is
 * JSON (or JSON lines) so pandas, jq and the app read it directly.
 *
 *   config.json     the resolved run config, written once when the run is created
 *   status.json     RunStatus: state, trainer pid/host while running, attempts and restarts, best/final val loss
 *   meta.json       RunMeta: name, tags, notes, sweep/group (the user edits these)
 *   metrics.jsonl   one MetricRecord per line (train | eval | diag), appended while training
 *   samples.jsonl   one SampleRecord per line (generations from this run's checkpoints)
 *   checkpoints/    step_NNNNNNN.safetensors (+ .sha256 beside each)
 */
import { z } from 'zod';

export const RUN_FILES = {
  config: 'config.json',
  status: 'status.json',
  meta: 'meta.json',
  metrics: 'metrics.jsonl',
  samples: 'samples.jsonl',
  checkpoints: 'checkpoints',
} as const;

/** Where runs live in a workspace. */
export const RUNS_DIR = 'runs';

// ── metrics.jsonl ───────────────────────────────────────────────────────────────────────────────────────────
/** Fields every metrics line has: x-axes for the charts. */
const Axes = {
  step: z.number().int().nonnegative(),
  /** Training tokens processed so far. */
  tokens: z.number().nonnegative(),
  /** Training wall-clock seconds: continues across resumes, downtime between a crash and its resume excluded. */
  elapsed_s: z.number().nonnegative(),
  /** Absolute time of the line (ISO 8601). */
  time: z.string(),
};

// JSON has no NaN/Infinity: a non-finite value is written as null (and read back as NaN by readers).
const num = z.number().nullable();

export const TrainRecordSchema = z.object({
  kind: z.literal('train'),
  ...Axes,
  loss: num,
  lr: z.number(),
  grad_norm: num,
  tokens_per_s: z.number(),
  /** Mixed precision only: the loss scale after this step, and whether the step was skipped (overflow). */
  loss_scale: z.number().optional(),
  skipped: z.boolean().optional(),
});

export const EvalRecordSchema = z.object({
  kind: z.literal('eval'),
  ...Axes,
  val_loss: num,
  /** exp(val_loss). */
  val_ppl: num.optional(),
  val_tokens: z.number().int().nonnegative(),
});

/** The handout's debugging signals, every `log.diag_interval` steps. */
export const DiagRecordSchema = z.object({
  kind: z.literal('diag'),
  ...Axes,
  /** RMS of the residual stream entering each layer, and after the last (num_layers + 1 values). */
  residual_rms: z.array(num),
  /** L2 norm of the weights per parameter group (e.g. "token_embeddings", "layers.0.attn", "layers.0.ffn", "lm_head"). */
  weight_norm: z.record(z.string(), num),
  /** L2 norm of the gradients per parameter group (before clipping). */
  grad_norm: z.record(z.string(), num),
});

export const MetricRecordSchema = z.discriminatedUnion('kind', [TrainRecordSchema, EvalRecordSchema, DiagRecordSchema]);
export type TrainRecord = z.infer<typeof TrainRecordSchema>;
export type EvalRecord = z.infer<typeof EvalRecordSchema>;
export type DiagRecord = z.infer<typeof DiagRecordSchema>;
export type MetricRecord = z.infer<typeof MetricRecordSchema>;

// ── status.json ─────────────────────────────────────────────────────────────────────────────────────────────
export const RUN_STATES = ['queued', 'running', 'done', 'failed', 'diverged', 'cancelled', 'paused'] as const;
export type RunState = (typeof RUN_STATES)[number];
/** States a run does not leave by itself. */
export const FINISHED_STATES: readonly RunState[] = ['done', 'failed', 'diverged', 'cancelled'];

export const RestartSchema = z.object({
  /** When the restart happened (ISO). */
  time: z.string(),
  /** The step training resumed from (0: from scratch). */
  from_step: z.number().int().nonnegative(),
  /** Why: "exit code 137", "signal SIGKILL", "preempted", … */
  reason: z.string(),
});

export const RunStatusSchema = z.object({
  state: z.enum(RUN_STATES),
  /** The trainer process while running. */
  pid: z.number().int().optional(),
  host: z.string().optional(),
  /** Where it runs: "local", "local:gpu1", "slurm:12345", … */
  backend: z.string().optional(),
  /** GPU the run trains on (product name and index), once known. */
  gpu: z.string().optional(),
  attempts: z.number().int().nonnegative().default(0),
  restarts: z.array(RestartSchema).default([]),
  created: z.string(),
  started: z.string().optional(),
  ended: z.string().optional(),
  updated: z.string(),
  /** Progress: last logged step and the run's total steps. */
  step: z.number().int().nonnegative().optional(),
  total_steps: z.number().int().positive().optional(),
  tokens_per_s: z.number().optional(),
  elapsed_s: z.number().optional(),
  best_val_loss: z.number().optional(),
  final_val_loss: z.number().optional(),
  final_loss: z.number().optional(),
  /** failed/diverged: what happened (an ErrorInfo). */
  error: z.object({ code: z.string(), message: z.string(), data: z.record(z.string(), z.unknown()).optional() }).optional(),
  /** Queue order (lower first) while queued. */
  priority: z.number().optional(),
});
export type RunStatus = z.infer<typeof RunStatusSchema>;

// ── meta.json ───────────────────────────────────────────────────────────────────────────────────────────────
export const RunMetaSchema = z.object({
  name: z.string(),
  tags: z.array(z.string()).default([]),
  notes: z.string().default(''),
  /** The sweep (or group) this run belongs to, with the values of its swept keys (dotted config paths). */
  sweep: z.object({ name: z.string(), keys: z.record(z.string(), z.unknown()) }).optional(),
  group: z.string().optional(),
  /** Where the run came from when imported ("cs336-tracker:<path>"). */
  imported_from: z.string().optional(),
});
export type RunMeta = z.infer<typeof RunMetaSchema>;

// ── samples.jsonl ───────────────────────────────────────────────────────────────────────────────────────────
export const SampleRecordSchema = z.object({
  time: z.string(),
  /** Checkpoint file name (relative to the run's checkpoints/) and its step. */
  checkpoint: z.string(),
  step: z.number().int().nonnegative(),
  prompt: z.string(),
  text: z.string(),
  prompt_ids: z.array(z.number().int()).optional(),
  ids: z.array(z.number().int()).optional(),
  stop_reason: z.enum(['eos', 'max_tokens', 'aborted']),
  settings: z.object({
    temperature: z.number(),
    top_p: z.number(),
    top_k: z.number().int(),
    seed: z.number().int(),
    max_new_tokens: z.number().int(),
  }),
  tokens_per_s: z.number().optional(),
});
export type SampleRecord = z.infer<typeof SampleRecordSchema>;
