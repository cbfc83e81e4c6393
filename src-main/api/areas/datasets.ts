/**
 * The API's datasets methods (part of src-main/api/contract.ts, which merges every area): prepared datasets under
 * `<workspace>/datasets/<name>/` (the folders `lmwb dataset prepare` makes), and later importing text, training or
 * picking a tokenizer and tokenizing with progress. Params schemas, result types and the events this area pushes.
 * Pure: no node: imports (the renderer bundles this file).
 */
import { z } from 'zod';

/** Method name → params schema. */
export const DatasetsMethods = {
  /** Every prepared dataset of the workspace (a folder with a valid dataset.json). */
  'datasets.list': z.object({}).strict(),
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
}

/** Method name → result type. */
export interface DatasetsResults {
  'datasets.list': DatasetSummary[];
}

/** Events this area pushes to the UI (plain JSON, discriminated on `type`). */
export type DatasetsEvent = never;
