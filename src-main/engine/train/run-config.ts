// A training run's configuration: model, data, optimizer, schedule, evaluation, checkpoints and logging.
// JSON on disk; `--set a.b=value` overrides; validated with zod so a bad key or value is named in the error.
import { readFileSync, existsSync } from 'node:fs';
import { z } from 'zod';
import { ModelConfigSchema, parseModelConfig, formatZodError, type ModelConfig } from '../model/config';
import { defaultLogitsChunkBytes } from '../model/plan';
import { UserError } from '../../util/errors';

const posInt = z.number().int().positive();

export const TrainingSchema = z
  .object({
    batch_size: posInt,
    /** Number of optimizer steps. Give this or total_tokens (steps = total_tokens / (batch_size · context_length)). */
    max_steps: posInt.optional(),
    total_tokens: posInt.optional(),
    seed: z.number().int().nonnegative().default(0),
    max_learning_rate: z.number().positive(),
    min_learning_rate: z.number().nonnegative().optional(),
    warmup_iters: z.number().int().nonnegative().default(0),
    /** End of the cosine decay; defaults to the last step. */
    cosine_cycle_iters: z.number().int().positive().optional(),
    betas: z.tuple([z.number().min(0).max(1), z.number().min(0).max(1)]).default([0.9, 0.95]),
    eps: z.number().positive().default(1e-8),
    weight_decay: z.number().nonnegative().default(0.1),
    /** Global gradient-norm clipping; 0 turns it off. */
    max_grad_norm: z.number().nonnegative().default(1.0),
    /**
     * auto: mixed where the GPU exposes f16 tensor cores (subgroup matrices), else f32. mixed: f16 matmul inputs,
     * f32 accumulation, master weights and optimizer state, dynamic loss scaling. f32: everything in f32.
     */
    precision: z.enum(['auto', 'f32', 'mixed']).default('auto'),
    /**
     * Wall-clock budget in seconds (the leaderboard: 5400). The lr schedule then runs on the fraction of the
     * budget used instead of the step fraction (lr at elapsed e = schedule at step e / budget × steps), training
     * stops when the budget is spent (or at the last step), and the final evaluation covers the whole validation
     * file. Not bit-reproducible across machines or resumes: the schedule depends on measured time.
     */
    time_budget_s: z.number().positive().optional(),
    /** Debugging: train on the batch of step 0 at every step; the loss must go to near zero. */
    overfit_one_batch: z.boolean().default(false),
    /**
     * MiB of f32 logits computed at a time: the LM head and the loss run over row chunks of at most this much.
     * Default 1536 (LMWB_LOGITS_CHUNK_MB changes the default): the CS336 model's whole batch at batch 128, the
     * fastest; smaller saves memory on a small GPU (256: 1.5 GiB less at batch 128) for about 2.5% of speed.
     */
    logits_chunk_mb: z.number().positive().optional(),
  })
  .strict();

/**
 * When a run counts as diverged (it stops, state `diverged`, its metrics kept): the loss is NaN or ±Infinity at
 * a logged step, or it stays above `factor` × its running minimum for `patience` consecutive logged steps.
 */
export const DivergenceSchema = z
  .object({
    enabled: z.boolean().default(true),
    factor: z.number().gt(1).default(2),
    patience: posInt.default(10),
  })
  .strict();

export const RunConfigSchema = z
  .object({
    name: z.string().min(1).default('run'),
    /**
     * The run folder (metrics, checkpoints, config.json), relative to the workspace; default runs/<name>-<date-time>.
     * Front ends resolve it; the engine takes the folder it is given.
     */
    out_dir: z.string().optional(),
    model: ModelConfigSchema,
    data: z
      .object({
        train: z.string().min(1),
        valid: z.string().min(1).optional(),
      })
      .strict(),
    training: TrainingSchema,
    eval: z
      .object({
        /** Evaluate every N steps (and at the end); 0 = only at the end. */
        interval: z.number().int().nonnegative().default(500),
        /** Fixed number of validation batches (the same every time), or "all" for the whole file. */
        batches: z.union([posInt, z.literal('all')]).default(20),
      })
      .strict()
      .default({ interval: 500, batches: 20 }),
    checkpoint: z
      .object({
        /** Save every N steps (and at the end); 0 = only at the end. */
        interval: z.number().int().nonnegative().default(1000),
        /** Keep only the newest N periodic checkpoints (the final one is always kept); 0 keeps all. */
        keep_last: z.number().int().nonnegative().default(3),
        /** Also save when this many minutes of training passed since the last checkpoint (0 = off). */
        every_minutes: z.number().nonnegative().default(0),
      })
      .strict()
      .default({ interval: 1000, keep_last: 3, every_minutes: 0 }),
    log: z
      .object({
        /** Read the loss back from the GPU every N steps (each readback waits for the GPU). */
        interval: z.number().int().positive().default(10),
        /** Every N steps, a diag record: residual-stream RMS per layer, weight and gradient norms per group (0 = off). */
        diag_interval: z.number().int().nonnegative().default(100),
      })
      .strict()
      .default({ interval: 10, diag_interval: 100 }),
    divergence: DivergenceSchema.default({ enabled: true, factor: 2, patience: 10 }),
  })
  .strict();

export type RunConfigInput = z.input<typeof RunConfigSchema>;

export interface RunConfig extends Omit<z.infer<typeof RunConfigSchema>, 'model'> {
  model: ModelConfig;
  steps: number;
  schedule: { max_learning_rate: number; min_learning_rate: number; warmup_iters: number; cosine_cycle_iters: number };
}

/** The bytes of one chunk of logits a run's training plans: its training.logits_chunk_mb, else the engine's default. */
export function logitsChunkBytesFor(mb: number | undefined): number {
  return mb !== undefined ? Math.round(mb * 2 ** 20) : defaultLogitsChunkBytes();
}

/** Applies `key.path=value` overrides; values parse as JSON when they can (numbers, booleans, arrays), else strings. */
export function applyOverrides(raw: Record<string, unknown>, sets: string[]): Record<string, unknown> {
  const out = structuredClone(raw);
  for (const s of sets) {
    const eq = s.indexOf('=');
    if (eq <= 0) throw new UserError(`a config override must be key=value (like training.batch_size=32), got "${s}"`, { code: 'INVALID_ARGUMENT', data: { override: s } });
    const path = s.slice(0, eq).split('.');
    const text = s.slice(eq + 1);
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      value = text;
    }
    let node = out as Record<string, unknown>;
    for (const key of path.slice(0, -1)) {
      if (node[key] === undefined) node[key] = {};
      if (typeof node[key] !== 'object' || node[key] === null) throw new UserError(`config override ${s}: ${key} is not an object`, { code: 'INVALID_ARGUMENT', data: { override: s } });
      node = node[key] as Record<string, unknown>;
    }
    node[path[path.length - 1]] = value;
  }
  return out;
}

export function parseRunConfig(raw: unknown): RunConfig {
  const r = RunConfigSchema.safeParse(raw);
  if (!r.success) throw new UserError(`invalid run config: ${formatZodError(r.error, 'config')}`, { code: 'CONFIG_INVALID', data: { issues: r.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })) } });
  const c = r.data;
  const model = parseModelConfig(c.model, 'model');
  const t = c.training;
  let steps: number;
  const bad = (message: string) => new UserError(`invalid run config: ${message}`, { code: 'CONFIG_INVALID' });
  if (t.max_steps !== undefined && t.total_tokens !== undefined) throw bad('give training.max_steps or training.total_tokens, not both');
  if (t.max_steps !== undefined) steps = t.max_steps;
  else if (t.total_tokens !== undefined) steps = Math.max(1, Math.round(t.total_tokens / (t.batch_size * model.context_length)));
  else throw bad('set training.max_steps or training.total_tokens (with training.time_budget_s it caps the run and sets the schedule\'s length)');
  const minLr = t.min_learning_rate ?? t.max_learning_rate / 10;
  if (minLr > t.max_learning_rate) throw bad(`training.min_learning_rate (${minLr}) is above max_learning_rate (${t.max_learning_rate})`);
  return {
    ...c,
    model,
    steps,
    schedule: {
      max_learning_rate: t.max_learning_rate,
      min_learning_rate: minLr,
      warmup_iters: t.warmup_iters,
      cosine_cycle_iters: t.cosine_cycle_iters ?? steps,
    },
  };
}

/**
 * The config as config.json stores it: every default filled in, nothing derived (no steps/schedule) and no
 * out_dir (the folder is the run), so `parseRunConfig(resolvedConfigJson(c))` gives `c` back.
 */
export function resolvedConfigJson(c: RunConfig): Record<string, unknown> {
  const { steps: _steps, schedule: _schedule, out_dir: _out, ...rest } = c;
  return JSON.parse(JSON.stringify(rest)) as Record<string, unknown>;
}

export function loadRunConfigFile(path: string): Record<string, unknown> {
  if (!existsSync(path)) throw new UserError(`config file not found: ${path}`, { code: 'FILE_NOT_FOUND', data: { path } });
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  } catch (e) {
    throw new UserError(`config file ${path} is not valid JSON: ${(e as Error).message}`, { code: 'CONFIG_INVALID', data: { path } });
  }
}
