/**
 * The types of the new-run checks that cross to the UI (the form's fields, a check's issues, the device, the
 * estimates, a sweep's preview): plain JSON shapes, in a module with no imports, so the renderer can use them.
 */

export type FieldKind = 'int' | 'number' | 'bool' | 'enum' | 'string' | 'path' | 'pair' | 'int-or-all';

export interface FormField {
  /** Dotted config key, as `--set key=value` takes it. */
  key: string;
  group: FieldGroup;
  kind: FieldKind;
  /** The enum's values. */
  options?: string[];
  /** The schema's default (filled in when the key is absent). */
  default?: unknown;
  /** Must be present (no default). */
  required: boolean;
  min?: number;
  /** The value must be greater than this (not equal). */
  exclusiveMin?: number;
  max?: number;
  help: string;
}

export const FIELD_GROUPS = ['run', 'model', 'data', 'training', 'optimizer', 'eval', 'checkpoint', 'log', 'divergence'] as const;
export type FieldGroup = (typeof FIELD_GROUPS)[number];

export interface FieldIssue {
  /** The dotted config key it is about ('preset' for the preset itself, a parent key for an unknown key). */
  key: string;
  message: string;
  /** error: the run is not queued; warning: it is, but the user should know. */
  level: 'error' | 'warning';
}

/** The adapter `lmwb device --json` describes (what the memory plan needs; nothing allocated). */
export interface DeviceProbe {
  name: string;
  driver: string;
  isSoftware: boolean;
  maxStorageBufferBindingSize: number;
  maxBufferSize: number;
  subgroupMatrix: boolean;
}

export interface MemoryEstimate {
  precision: 'f32' | 'mixed';
  parameters: number;
  nonEmbeddingParameters: number;
  /** Parameters, gradients and AdamW moments (and the f16 copy in mixed precision). */
  parameterBytes: number;
  /** Every activation and scratch buffer of the training plan. */
  activationBytes: number;
  totalBytes: number;
  /** The plan's largest single buffer (it must fit one storage binding). */
  largest: { name: string; bytes: number };
  /** The device's limits the plan was checked against (null: the device is not known yet). */
  device: { name: string; maxBindingBytes: number; memoryBytes: number | null } | null;
  /** The largest batch (≤ 1024) the plan accepts on that device. */
  largestBatch: number | null;
}

export interface TimeEstimate {
  tokensPerS: number;
  /** Training time for the run's tokens (capped by its time budget). */
  seconds: number;
  /** The run the figure came from, and its GPU. */
  run: string;
  gpu: string | null;
  /** The measurement is from this machine's GPU (false: another GPU, or the device is not known yet). */
  sameDevice: boolean;
}

export interface RunEstimate {
  steps: number;
  tokensPerStep: number;
  totalTokens: number;
  timeBudgetS: number | null;
  memory: MemoryEstimate;
  time: TimeEstimate | null;
  /** Why there is no time figure, or what to know about it. */
  timeNote: string;
}

export interface SweepPreviewRun {
  label: string;
  sets: string[];
  /** The resolved value of each swept key. */
  values: Record<string, unknown>;
  issues: FieldIssue[];
  estimate: RunEstimate | null;
}

export interface SweepPreview {
  name: string;
  keys: string[];
  notes: string[];
  runs: SweepPreviewRun[];
  /** Every run resolves and passes the checks: it can be queued. */
  ok: boolean;
}

