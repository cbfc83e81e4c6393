/**
 * The API's datasets methods (part of src-main/api/contract.ts, which merges every area): prepared datasets under
 * `<workspace>/datasets/<name>/` (the folders `lmwb dataset prepare` makes), decoded samples of their token files,
 * and preparation jobs: import a text file (a path on the backend's machine, a desktop file dialog, or an upload),
 * train or pick a tokenizer, and tokenize in a child process with progress pushed as events. Params schemas, result
 * types and the events this area pushes. Pure: no node: imports (the renderer bundles this file).
 */
import { z } from 'zod';

/** A dataset's name: one folder name under datasets/ (no separators or dot-dot). */
export const DatasetNameSchema = z
  .string()
  .trim()
  .min(1)
  .max(100)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'a dataset name is one folder name of letters, digits and . _ -');

const Special = z.string().min(1).max(100);

/** Where a new dataset's tokenizer comes from. */
export const TokenizerChoiceSchema = z.discriminatedUnion('kind', [
  /** Train a byte-level BPE on the training text. */
  z.object({ kind: z.literal('train'), vocabSize: z.number().int().min(1).max(1_000_000), specials: z.array(Special).max(32).default(['<|endoftext|>']) }).strict(),
  /** Copy another prepared dataset's tokenizer (its own special tokens). */
  z.object({ kind: z.literal('dataset'), name: DatasetNameSchema }).strict(),
  /** Bytes: 256 byte tokens + the special tokens, no merges. */
  z.object({ kind: z.literal('bytes'), specials: z.array(Special).max(32).default(['<|endoftext|>']) }).strict(),
]);
export type TokenizerChoice = z.infer<typeof TokenizerChoiceSchema>;

/** A text file on the backend's machine: absolute, or relative to the workspace (an upload's `path`). */
const TextPath = z.string().trim().min(1).max(4096);

/** Method name → params schema. */
export const DatasetsMethods = {
  /** Every prepared dataset of the workspace (a folder with a valid dataset.json). */
  'datasets.list': z.object({}).strict(),
  /** A few windows of the dataset's token files decoded with its tokenizer, at deterministic positions. */
  'datasets.samples': z
    .object({
      name: DatasetNameSchema,
      /** Windows per split. */
      count: z.number().int().min(1).max(20).default(3),
      /** Tokens per window. */
      length: z.number().int().min(1).max(1024).default(96),
    })
    .strict(),
  /** Starts preparing a new dataset in a child process (`lmwb dataset prepare`); progress comes as events. */
  'datasets.prepare': z
    .object({
      name: DatasetNameSchema,
      train: TextPath,
      valid: TextPath.optional(),
      /** Without a validation text: hold out this fraction of the training text (cut at a document boundary). */
      validFraction: z.number().gt(0).max(0.5).optional(),
      tokenizer: TokenizerChoiceSchema,
      /** Invalid UTF-8 in the text: stop with an error, or decode it as U+FFFD. */
      invalidUtf8: z.enum(['error', 'replace']).default('error'),
    })
    .strict(),
  /** Cancels a running preparation: its child stops and nothing half-written is left; finished steps are kept. */
  'datasets.cancel': z.object({ id: z.string().min(1).max(100) }).strict(),
  /** Deletes what a cancelled or failed preparation of this name left in staging (the steps it finished). */
  'datasets.discard': z.object({ name: DatasetNameSchema }).strict(),
  /** The preparations of this backend session (running and finished). */
  'datasets.jobs': z.object({}).strict(),
  /** The largest file `POST /api/upload` takes (lmwb serve), so the UI can say so before sending. */
  'datasets.uploadLimit': z.object({}).strict(),
  /** Desktop app only: pick a text file in an open dialog the user answers (null when cancelled). */
  'datasets.chooseFile': z.object({ title: z.string().max(200).optional() }).strict(),
} satisfies Record<string, z.ZodType>;

/** One prepared dataset, as the Datasets view and the new-run form's data picker show it. */
export interface DatasetSummary {
  name: string;
  /** Workspace-relative token files, as a run config's `data.train` / `data.valid` take them (null: no such split). */
  train: string | null;
  valid: string | null;
  vocabSize: number;
  /** Token count per split ("train", "valid"). */
  tokens: Record<string, number>;
  created: string;
  /** The raw texts it was made from, per split: absolute path, size in bytes, sha256. */
  sources?: Record<string, { path: string; size: number; sha256: string }>;
  /** Its tokenizer: how it was made, its hash and special tokens. */
  tokenizer?: DatasetTokenizerInfo;
  /** The validation split was held out of one text: that text, the fraction asked for, the byte it was cut at. */
  holdout?: { source: { path: string; size: number; sha256: string }; validFraction: number; cut: number };
}

export interface DatasetTokenizerInfo {
  origin: 'trained' | 'copied' | 'bytes';
  hash: string;
  specials: string[];
  merges: number | null;
  /** Trained: the text it was trained on (path, size). Copied: where from. */
  trainedOn: { path: string; size: number } | null;
  copiedFrom: string | null;
  /** Seconds the training took (trained only). */
  seconds: number | null;
  /** The vocabulary size asked for (trained only): larger than the vocab when the text ran out of pairs to merge. */
  requested: number | null;
}

export interface DatasetSample {
  split: string;
  offset: number;
  ids: number[];
  pieces: string[];
  text: string;
}

/** One preparation job (a `lmwb dataset prepare` child the backend supervises). */
export interface DatasetJob {
  id: string;
  name: string;
  state: 'running' | 'cancelling' | 'done' | 'failed' | 'cancelled';
  train: string;
  valid: string | null;
  /** The fraction of the training text held out as validation (null: none, or a validation text was given). */
  validFraction: number | null;
  tokenizer: TokenizerChoice;
  /** The steps seen so far ("hash train", "tokenizer", "encode train", …) and how each went. */
  phases: Array<{ task: string; status: 'start' | 'reused' | 'done'; detail?: string }>;
  /** The running step's progress: units done of total, rate (units/s) and ETA in seconds, when known. */
  progress: {
    task: string;
    detail?: string;
    done: number;
    total?: number;
    unit: string;
    rate: number | null;
    etaS: number | null;
    extra?: Record<string, number>;
  } | null;
  started: string;
  ended: string | null;
  /** Why it failed or was cancelled: one line with a code. */
  error: { code: string; message: string } | null;
}

/** Method name → result type. */
export interface DatasetsResults {
  'datasets.list': DatasetSummary[];
  'datasets.samples': DatasetSample[];
  'datasets.prepare': DatasetJob;
  'datasets.cancel': DatasetJob;
  'datasets.jobs': DatasetJob[];
  'datasets.discard': { removed: boolean };
  'datasets.chooseFile': string | null;
  'datasets.uploadLimit': { maxBytes: number };
}

/** Preparation jobs that changed, batched (at most ~10 a second). A job that is `done` has its dataset listed. */
export interface DatasetJobsEvent {
  type: 'datasets.jobs';
  jobs: DatasetJob[];
}

/** Events this area pushes to the UI (plain JSON, discriminated on `type`). */
export type DatasetsEvent = DatasetJobsEvent;
