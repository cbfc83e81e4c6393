/**
 * The API's new-run form, config schema, validation, estimates and sweep builder methods (part of
 * src-main/api/contract.ts, which merges every area): params schemas, result types and the events this area pushes.
 * A run request is exactly what `lmwb queue add --preset P --set k=v … --unset k …` takes, and a sweep request what
 * `lmwb sweep [--preset S] [--base P] --set … --grid k=v1,v2` takes, so both go through the CLI's code path.
 * Pure: no node: imports (the renderer bundles this file).
 */
import { z } from 'zod';
import type { DeviceProbe, FieldGroup, FieldIssue, FormField, RunEstimate, SweepPreview } from '../../runs/run-check-types';

export type { FieldGroup, FormField, DeviceProbe, FieldIssue, RunEstimate, SweepPreview };

const Override = z.string().max(4000).regex(/^[A-Za-z0-9_.]+=/, 'an override is key=value (like training.batch_size=32)');
const Key = z.string().min(1).max(200).regex(/^[A-Za-z0-9_.]+$/, 'a config key is dotted words (like training.batch_size)');
const PresetName = z.string().min(1).max(100);

/** A run: a trainer preset, overrides and keys to remove (`lmwb queue add --preset P --set k=v --unset k`). */
export const RunRequestSchema = z
  .object({
    preset: PresetName,
    set: z.array(Override).max(200).default([]),
    unset: z.array(Key).max(100).default([]),
  })
  .strict();

/** A sweep (`lmwb sweep`): a sweep preset and/or grids on a base trainer preset, overrides on the base. */
export const SweepRequestSchema = z
  .object({
    base: PresetName.optional(),
    preset: PresetName.optional(),
    set: z.array(Override).max(200).default([]),
    grids: z.array(z.object({ key: Key, values: z.array(z.union([z.number(), z.string().max(1000), z.boolean()])).min(1).max(200) }).strict()).max(8).default([]),
    name: z.string().trim().min(1).max(100).regex(/^[A-Za-z0-9._-]+$/, 'a sweep name is letters, digits and . _ -').optional(),
    maxBatch: z.number().int().positive().max(1 << 20).optional(),
    from: z.string().min(1).max(200).optional(),
  })
  .strict();

/** Method name → params schema. */
export const NewRunMethods = {
  /** The form: every config field (typed, grouped, defaults, help), the trainer and sweep presets. */
  'newrun.form': z.object({}).strict(),
  /** The adapter's limits (read once by a `lmwb device` child; waits for it). */
  'newrun.device': z.object({}).strict(),
  /** A trainer preset's resolved config (every default filled in), or an ablation start's: the form's starting point. */
  'newrun.preset': z.object({ preset: PresetName }).strict(),
  /** Resolves and checks a run request as `lmwb queue add` would, with its estimate. */
  'newrun.validate': RunRequestSchema,
  /** Checks again and queues it (a worker starts); refused with the first problem when any check fails. */
  'newrun.queue': RunRequestSchema,
  /** Every run a sweep would queue, each resolved and checked, with its estimate. */
  'newrun.sweepPreview': SweepRequestSchema,
  /** Checks every run, then queues them as one group (`lmwb sweep`). */
  'newrun.sweepQueue': SweepRequestSchema,
} satisfies Record<string, z.ZodType>;

export interface TrainerPresetInfo {
  name: string;
  description: string;
  target_val_loss?: number;
  dataset?: string;
}

/** A starting point that is a trainer preset with overrides (an ablation on the TinyStories base). */
export interface StartInfo {
  name: string;
  /** The trainer preset it starts from (the request's preset). */
  base: string;
  description: string;
}

export interface NewRunForm {
  /** The workspace folder: data paths inside it are shown relative to it (as `--set` takes them). */
  workspace: string;
  fields: FormField[];
  groups: readonly FieldGroup[];
  presets: TrainerPresetInfo[];
  /** Ablation starting points: a trainer preset with the variant's overrides filled in (shown as changes). */
  starts: StartInfo[];
  sweepPresets: Array<{ name: string; description: string }>;
}

export interface RunCheck {
  ok: boolean;
  issues: FieldIssue[];
  /** config.json as it would be written (null when it does not resolve). */
  config: Record<string, unknown> | null;
  estimate: RunEstimate | null;
  /** The device the checks used (null: not known yet, so the batch was not checked against it). */
  device: DeviceProbe | null;
}

/** Method name → result type. */
export interface NewRunResults {
  'newrun.form': NewRunForm;
  'newrun.device': { device: DeviceProbe | null; error: string | null };
  /** preset: the trainer preset to send; config: its resolved config (the baseline); start: with a start's overrides. */
  'newrun.preset': { preset: string; config: Record<string, unknown>; start: Record<string, unknown> | null; sets: string[] };
  'newrun.validate': RunCheck;
  'newrun.queue': { id: string };
  'newrun.sweepPreview': SweepPreview;
  'newrun.sweepQueue': { name: string; runs: Array<{ id: string; label: string }> };
}

/** Events this area pushes to the UI (plain JSON, discriminated on `type`). */
export type NewRunEvent = never;
