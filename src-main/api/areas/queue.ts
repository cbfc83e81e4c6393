/**
 * The API's queue panel methods (part of src-main/api/contract.ts, which merges every area): the queue in the order
 * the worker takes it, then running, paused and recently finished runs; move (reorder), cancel, pause, resume and
 * retry. Params schemas, result types and the events this area pushes. Pure: no node: imports (the renderer bundles
 * this file).
 */
import { z } from 'zod';
import type { RunState } from '../../runs/format';

// The contract's run id rule (contract.ts RunIdSchema), repeated here: contract.ts imports this file.
const RunId = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._=+-]*$/, 'a run id is one folder name of letters, digits and . _ = + -');

/** Method name → params schema. */
export const QueueMethods = {
  /** The queue panel's rows (see QueueList). */
  'queue.list': z.object({ finished: z.number().int().min(0).max(500).default(20) }).strict(),
  /** Move a queued run: first, last, or just before / after another queued run. Workers take runs in the new order. */
  'queue.move': z
    .object({ id: RunId, to: z.enum(['top', 'bottom', 'before', 'after']), ref: RunId.optional() })
    .strict()
    .refine((p) => (p.to === 'before' || p.to === 'after') === (p.ref !== undefined), { message: 'before/after need ref (a queued run id); top/bottom take none', path: ['ref'] }),
  /** Cancel a queued, running or paused run (a running trainer checkpoints first). */
  'queue.cancel': z.object({ id: RunId }).strict(),
  /** Pause: a queued run leaves the queue at once; a running trainer checkpoints and stops. */
  'queue.pause': z.object({ id: RunId }).strict(),
  /** A paused run back into the queue, in its old place (it resumes bit for bit from its checkpoint). */
  'queue.resume': z.object({ id: RunId }).strict(),
  /** A failed or cancelled run back into the queue: from its newest checkpoint, or from scratch when it has none. */
  'queue.retry': z.object({ id: RunId }).strict(),
} satisfies Record<string, z.ZodType>;

/** One restart of a crashed trainer (status.json `restarts`). */
export interface QueueRestart {
  time: string;
  fromStep: number;
  reason: string;
}

/** One row of the queue panel. Live figures (step, tokens/s) also arrive in `runs` events; ETA is derived from them. */
export interface QueueRow {
  id: string;
  name: string;
  state: RunState;
  /** 1-based place in the queue (queued runs only). */
  position: number | null;
  step: number | null;
  totalSteps: number | null;
  tokensPerS: number | null;
  elapsedS: number | null;
  /** Tokens one step trains (batch × context): remaining tokens = (totalSteps − step) × this. */
  tokensPerStep: number | null;
  /** training.time_budget_s: the run stops when its training time reaches this. */
  timeBudgetS: number | null;
  /** Where it trains: status.json backend ("local", "local:gpu1", "slurm:123"), and the GPU once known. */
  where: string | null;
  gpu: string | null;
  attempts: number;
  restarts: QueueRestart[];
  /** The newest checkpoint's step: what resume/retry continues from (null: none, so a retry starts from scratch). */
  resumeStep: number | null;
  sweep: string | null;
  created: string | null;
  started: string | null;
  ended: string | null;
  error: { code: string; message: string } | null;
}

export interface QueueList {
  /** Queued (in the order the worker takes them), then running, paused, and the most recently finished. */
  rows: QueueRow[];
  /** The backend has a queue worker of its own running now. */
  workerRunning: boolean;
}

export interface QueueActionResult {
  id: string;
  /** The state right after the call (a running run stays `running` until its trainer has checkpointed). */
  state: RunState;
  /** A running run's worker was asked to act. */
  requested: boolean;
}

/** Method name → result type. */
export interface QueueResults {
  'queue.list': QueueList;
  'queue.move': { order: string[] };
  'queue.cancel': QueueActionResult;
  'queue.pause': QueueActionResult;
  'queue.resume': QueueActionResult;
  'queue.retry': QueueActionResult & { fromStep: number | null };
}

/** Events this area pushes to the UI (plain JSON, discriminated on `type`). */
export type QueueEvent = never;
