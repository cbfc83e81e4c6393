/**
 * The API's generation playground (part of src-main/api/contract.ts, which merges every area): checkpoints to pick
 * from, a generation job over one or two checkpoints side by side (the same prompt, settings and seed), its
 * streamed text, stop, and saving a sample to its run's samples.jsonl. The settings schema is the one rule set:
 * the backend validates requests with it and the view shows its messages beside the fields (the same ranges as
 * `lmwb generate`: engine/generate/sampler.ts). Pure: no node: imports (the renderer bundles this file).
 */
import { z } from 'zod';

/** A checkpoint as the playground's URL names it: `RUN_ID/step_NNNNNNN.safetensors` (inside the workspace only). */
export const CheckpointRefSchema = z
  .string()
  .max(300)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._=+-]*\/step_\d+\.safetensors$/, 'a checkpoint is RUN_ID/step_NNNNNNN.safetensors');

export const PANES = ['a', 'b'] as const;
export type Pane = (typeof PANES)[number];

/** Upper bounds the CLI leaves open, so one request cannot hold the GPU for hours or exhaust its memory. */
export const PLAYGROUND_LIMITS = { maxNewTokens: 20_000, numSamples: 16, prompt: 100_000 } as const;

/** The sampling settings, with messages that say the rule (sampler.ts checkSampling's ranges). */
export const GenerationSettingsSchema = z
  .object({
    temperature: z.number({ error: 'temperature must be a number ≥ 0 (0 = greedy)' }).min(0, 'temperature must be a number ≥ 0 (0 = greedy)').max(1e6, 'temperature must be at most 1e6'),
    topP: z.number({ error: 'top-p must be a number in (0, 1]' }).gt(0, 'top-p must be in (0, 1] (1 keeps every token)').max(1, 'top-p must be in (0, 1] (1 keeps every token)'),
    topK: z.number({ error: 'top-k must be an integer ≥ 0' }).int('top-k must be an integer ≥ 0 (0 keeps every token)').min(0, 'top-k must be an integer ≥ 0 (0 keeps every token)').max(1e9, 'top-k must be at most 1e9'),
    seed: z.number({ error: 'the seed must be an integer ≥ 0' }).int('the seed must be an integer ≥ 0').min(0, 'the seed must be an integer ≥ 0').max(Number.MAX_SAFE_INTEGER, 'the seed must be at most 2^53 − 1'),
    maxNewTokens: z.number({ error: 'max new tokens must be an integer ≥ 1' }).int('max new tokens must be an integer ≥ 1').min(1, 'max new tokens must be an integer ≥ 1').max(PLAYGROUND_LIMITS.maxNewTokens, `max new tokens must be at most ${PLAYGROUND_LIMITS.maxNewTokens.toLocaleString('en-US')} here`),
    numSamples: z.number({ error: 'the number of samples must be an integer ≥ 1' }).int('the number of samples must be an integer ≥ 1').min(1, 'the number of samples must be an integer ≥ 1').max(PLAYGROUND_LIMITS.numSamples, `the number of samples must be at most ${PLAYGROUND_LIMITS.numSamples} here`),
  })
  .strict();
export type GenerationSettings = z.infer<typeof GenerationSettingsSchema>;
export type SettingKey = keyof GenerationSettings;

/** `lmwb generate`'s defaults (engine/generate DEFAULT_GENERATE), so the UI starts where the CLI does. */
export const DEFAULT_PLAYGROUND_SETTINGS: GenerationSettings = { temperature: 1, topP: 1, topK: 0, seed: 0, maxNewTokens: 256, numSamples: 1 };

const JobId = z.string().regex(/^g\d{1,12}$/, 'a job id is g<number>');

/** Method name → params schema. */
export const PlaygroundMethods = {
  /** Runs that have checkpoints, each checkpoint with its step, size and the val loss logged at its step. */
  'playground.checkpoints': z.object({}).strict(),
  /** Starts generating from each pane's checkpoint with the same prompt and settings; text streams as events. */
  'playground.generate': z
    .object({
      prompt: z.string().max(PLAYGROUND_LIMITS.prompt),
      settings: GenerationSettingsSchema,
      panes: z
        .array(z.object({ pane: z.enum(PANES), checkpoint: CheckpointRefSchema }).strict())
        .min(1)
        .max(2)
        .refine((p) => new Set(p.map((x) => x.pane)).size === p.length, 'each pane at most once'),
    })
    .strict(),
  /** Stops a job: its samples end where they are (stop reason "aborted"). */
  'playground.stop': z.object({ job: JobId }).strict(),
  /** A job's whole state (after a gap in the events, or a reload). */
  'playground.job': z.object({ job: JobId }).strict(),
  /** Appends one finished sample, with its settings, to its run's samples.jsonl (once; again is a no-op). */
  'playground.save': z.object({ job: JobId, pane: z.enum(PANES), sample: z.number().int().min(0).max(PLAYGROUND_LIMITS.numSamples - 1) }).strict(),
  /** The generation worker's state. */
  'playground.status': z.object({}).strict(),
} satisfies Record<string, z.ZodType>;

export interface PlaygroundCheckpoint {
  /** The reference the URL and playground.generate take: RUN_ID/FILE. */
  ref: string;
  file: string;
  step: number;
  bytes: number;
  /** The validation loss logged at this step, if any. */
  valLoss: number | null;
}
export interface PlaygroundRun {
  id: string;
  name: string;
  state: string | null;
  checkpoints: PlaygroundCheckpoint[];
}

export type StopReason = 'eos' | 'max_tokens' | 'aborted';
export type PaneState = 'loading' | 'running' | 'done' | 'stopped' | 'failed';

export interface SampleState {
  sample: number;
  /** The generated text so far (without the prompt). */
  text: string;
  tokens: number;
  tokensPerS: number | null;
  stopReason: StopReason | null;
  saved: boolean;
}
export interface PaneResult {
  pane: Pane;
  checkpoint: string;
  run: string;
  step: number | null;
  state: PaneState;
  samples: SampleState[];
  error: { code: string; message: string } | null;
  warning: string | null;
  /** What the worker loaded: tokenizer and decode precision. */
  tokenizer: string | null;
  precision: string | null;
}
export interface PlaygroundJob {
  job: string;
  prompt: string;
  settings: GenerationSettings;
  started: string;
  panes: PaneResult[];
}

export type WorkerState = 'idle' | 'starting' | 'ready' | 'restarting' | 'failed' | 'closed';
export interface PlaygroundStatus {
  worker: WorkerState;
  pid: number | null;
  device: string | null;
  restarts: number;
  message: string | null;
}

/** Method name → result type. */
export interface PlaygroundResults {
  'playground.checkpoints': PlaygroundRun[];
  'playground.generate': PlaygroundJob;
  'playground.stop': { job: string; stopped: boolean };
  'playground.job': PlaygroundJob;
  'playground.save': { run: string; checkpoint: string; file: string; saved: boolean };
  'playground.status': PlaygroundStatus;
}

/**
 * New text of one sample: `text` continues the sample at character `from` (a client that holds a different length
 * missed an update and refetches with playground.job).
 */
export interface SampleDelta {
  sample: number;
  from: number;
  text: string;
  tokens: number;
  tokensPerS: number | null;
  stopReason: StopReason | null;
}
export interface PaneUpdate {
  job: string;
  pane: Pane;
  state: PaneState;
  step: number | null;
  error: { code: string; message: string } | null;
  warning: string | null;
  samples: SampleDelta[];
}

/** Events this area pushes to the UI (plain JSON, discriminated on `type`): at most ~10 a second in all. */
export type PlaygroundEvent =
  | { type: 'generation'; updates: PaneUpdate[] }
  | { type: 'generation-worker'; status: PlaygroundStatus };

/** Per-field messages for the form (the first issue of each field), from the same schema the backend applies. */
export function settingsErrors(raw: Record<SettingKey, unknown>): Partial<Record<SettingKey, string>> {
  const r = GenerationSettingsSchema.safeParse(raw);
  if (r.success) return {};
  const out: Partial<Record<SettingKey, string>> = {};
  for (const issue of r.error.issues) {
    const k = issue.path[0] as SettingKey;
    out[k] ??= issue.message;
  }
  return out;
}
