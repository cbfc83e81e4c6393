// The generation worker's wire protocol (`lmwb generate-worker`, engine/generate/serve.ts): one JSON object per
// line each way. The supervisor (server/generation-worker.ts) writes requests on the worker's stdin; the worker
// answers on stdout, streaming token events as they are decoded. Every request that starts work carries an `id`
// chosen by the supervisor; every answer about it repeats that id. Plain JSON (discriminated on `type`), validated
// with zod on both sides: a line that does not parse is an error event, never a crash.
import { z } from 'zod';

/** The sampling settings of one request, in the engine's terms (GenerateSettings). Ranges: sampler.ts. */
export const WireSettingsSchema = z
  .object({
    temperature: z.number(),
    topP: z.number(),
    topK: z.number(),
    seed: z.number(),
    maxNewTokens: z.number(),
  })
  .strict();
export type WireSettings = z.infer<typeof WireSettingsSchema>;

export const WorkerRequestSchema = z.discriminatedUnion('type', [
  /** Load the checkpoint (or reuse it from the cache) and generate; streams `token` events, ends with `done`. */
  z
    .object({
      type: z.literal('generate'),
      id: z.string().min(1).max(200),
      /** An absolute path of a .safetensors checkpoint (inside a run folder: the run's tokenizer is used). */
      checkpoint: z.string().min(1),
      prompt: z.string(),
      settings: WireSettingsSchema,
      numSamples: z.number().int().min(1),
    })
    .strict(),
  /** Stop a running generation at its next step (the samples end with stop_reason 'aborted'). */
  z.object({ type: z.literal('cancel'), id: z.string().min(1).max(200) }).strict(),
  /** Report the cache and the live GPU resources (answers `stats`). */
  z.object({ type: z.literal('stats'), id: z.string().min(1).max(200) }).strict(),
  /** Cancel everything, free the GPU and exit 0. */
  z.object({ type: z.literal('shutdown') }).strict(),
]);
export type WorkerRequest = z.infer<typeof WorkerRequestSchema>;

export interface WireError {
  code: string;
  message: string;
}

export interface WireSample {
  sample: number;
  prompt_ids: number[];
  ids: number[];
  text: string;
  stop_reason: 'eos' | 'max_tokens' | 'aborted';
  tokens_per_s: number;
}

export type WorkerEvent =
  /** The worker is up and has its GPU device. */
  | { type: 'ready'; pid: number; device: string }
  /** The checkpoint of request `id` is loaded (or came from the cache). */
  | { type: 'loaded'; id: string; checkpoint: string; step: number; runDir: string | null; tokenizer: string; precision: string; cached: boolean }
  /** Decoding of request `id` starts: the prompt as the model sees it. */
  | { type: 'start'; id: string; prompt_ids: number[]; prompt_dropped: number; samples: number }
  /** New text of one sample (text may be '' while a UTF-8 character is incomplete). */
  | { type: 'token'; id: string; sample: number; token: number; text: string }
  | { type: 'warning'; id: string; code: string; message: string }
  /** Request `id` finished (every sample, also when cancelled). */
  | { type: 'done'; id: string; samples: WireSample[]; elapsed_s: number }
  /** Request `id` failed, or (no id) a line could not be understood. One line, with a code. */
  | { type: 'error'; id: string | null; error: WireError }
  | { type: 'stats'; id: string; loaded: Array<{ checkpoint: string; numSamples: number[] }>; gpuBuffers: number; gpuDevices: number };

/** Parses one request line; a bad line gives a coded error instead of throwing. */
export function parseWorkerRequest(line: string): { ok: true; request: WorkerRequest } | { ok: false; error: WireError } {
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch {
    return { ok: false, error: { code: 'INVALID_ARGUMENT', message: 'a request line is not JSON' } };
  }
  const r = WorkerRequestSchema.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0];
    return { ok: false, error: { code: 'INVALID_ARGUMENT', message: `bad request: ${issue?.path.join('.') || 'request'}: ${issue?.message ?? 'invalid'}` } };
  }
  return { ok: true, request: r.data };
}

/** Parses one event line from the worker (the supervisor's side); undefined for a line that is not an event. */
export function parseWorkerEvent(line: string): WorkerEvent | undefined {
  try {
    const e = JSON.parse(line) as unknown;
    if (e && typeof e === 'object' && typeof (e as { type?: unknown }).type === 'string') return e as WorkerEvent;
  } catch {
    /* not a protocol line */
  }
  return undefined;
}
