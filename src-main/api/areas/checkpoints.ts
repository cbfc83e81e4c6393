/**
 * The API's checkpoint browser methods (part of src-main/api/contract.ts, which merges every area): a run's
 * checkpoints with step, val loss, size and date; delete one; export (copy) one to a path the user picked. Params
 * schemas, result types and the events this area pushes. Pure: no node: imports (the renderer bundles this file).
 *
 * Checkpoints are named by run id and file name (`step_NNNNNNN.safetensors`), never by a path; the one path the
 * API takes is an export's destination, which the user typed (`lmwb serve`: the server is local) or picked in the
 * desktop app's save dialog (the main process only lets through paths its dialog returned).
 */
import { z } from 'zod';

// The contract's run id rule (contract.ts RunIdSchema), repeated here: contract.ts imports this file.
const RunId = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._=+-]*$/, 'a run id is one folder name of letters, digits and . _ = + -');
const File = z.string().regex(/^step_\d+\.safetensors$/, 'a checkpoint is step_NNNNNNN.safetensors');

/** Method name → params schema. */
export const CheckpointsMethods = {
  /** One run's checkpoints, oldest first. */
  'checkpoints.list': z.object({ id: RunId }).strict(),
  /** Delete one checkpoint (refused for the newest one of a run that resumes from it). */
  'checkpoints.delete': z.object({ id: RunId, file: File }).strict(),
  /**
   * Copy one checkpoint's safetensors file to `dest` (absolute; an existing folder gets `<run>-<file>` inside).
   * An existing file is replaced only with `overwrite: true` (else FILE_EXISTS).
   */
  'checkpoints.export': z.object({ id: RunId, file: File, dest: z.string().min(1).max(4096), overwrite: z.boolean().default(false) }).strict(),
} satisfies Record<string, z.ZodType>;

/** One checkpoint as the browser lists it. */
export interface CheckpointRow {
  file: string;
  step: number;
  bytes: number;
  /** When it was written (ISO). */
  time: string;
  /** Validation loss at this step (the checkpoint's metadata, else metrics.jsonl's eval at this step), or null. */
  valLoss: number | null;
  valLossFrom: 'metadata' | 'metrics' | null;
  tokens: number | null;
  elapsedS: number | null;
  /** Lowest val loss of the run's checkpoints. */
  best: boolean;
  /** Highest step: what a resume continues from. */
  newest: boolean;
  /** Its header could not be read (truncated or not ours). */
  unreadable: boolean;
}

export interface CheckpointList {
  id: string;
  checkpoints: CheckpointRow[];
  /** The run's state: the newest checkpoint of a running/paused/queued run cannot be deleted. */
  state: string | null;
  /** An absolute folder to suggest for exports (the workspace's exports/ folder). */
  exportDir: string;
}

/** Method name → result type. */
export interface CheckpointsResults {
  'checkpoints.list': CheckpointList;
  'checkpoints.delete': CheckpointList;
  'checkpoints.export': { path: string; bytes: number; replaced: boolean };
}

/** Events this area pushes to the UI (plain JSON, discriminated on `type`). */
export type CheckpointsEvent = never;
