/**
 * Tolerant readers for the run store (see format.ts): a torn last line of a .jsonl file (a crash mid-write) is
 * ignored, never fatal; a line that fails its schema is skipped and counted. Non-finite numbers are written as
 * null and come back as NaN. Readers never write.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { z } from 'zod';
import {
  RUN_FILES, RUNS_DIR, MetricRecordSchema, RunMetaSchema, RunStatusSchema, SampleRecordSchema,
  type MetricRecord, type RunMeta, type RunStatus, type SampleRecord,
} from './format';

export interface JsonlRead<T> {
  records: T[];
  /** Lines that were not valid JSON or failed the schema (a torn last line is not counted). */
  skipped: number;
  /** The file ended in a partial line (no newline; a writer died mid-line or is writing now). */
  tornTail: boolean;
  /** Byte length of the complete lines (where to cut a torn tail). */
  completeBytes: number;
}

/** Reads a JSON-lines file; records that fail `schema` are skipped. A missing file reads as empty. */
export function readJsonl<S extends z.ZodTypeAny>(path: string, schema: S): JsonlRead<z.infer<S>> {
  if (!existsSync(path)) return { records: [], skipped: 0, tornTail: false, completeBytes: 0 };
  const buf = readFileSync(path);
  const end = buf.lastIndexOf(0x0a) + 1; // complete lines end with '\n'
  const tornTail = end < buf.length;
  const text = buf.subarray(0, end).toString('utf8');
  const records: Array<z.infer<S>> = [];
  let skipped = 0;
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    let raw: unknown;
    try {
      raw = JSON.parse(line);
    } catch {
      skipped++;
      continue;
    }
    const r = schema.safeParse(raw);
    if (r.success) records.push(nullsToNaN(r.data) as z.infer<S>);
    else skipped++;
  }
  return { records, skipped, tornTail, completeBytes: end };
}

/** JSON null numbers (how non-finite values are written) back to NaN, shallowly and in arrays/records one deep. */
function nullsToNaN(v: unknown): unknown {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return v;
  const o = v as Record<string, unknown>;
  for (const [k, x] of Object.entries(o)) {
    if (x === null) o[k] = NaN;
    else if (Array.isArray(x)) o[k] = x.map((y) => (y === null ? NaN : y));
    else if (x && typeof x === 'object') for (const [k2, y] of Object.entries(x)) if (y === null) (x as Record<string, unknown>)[k2] = NaN;
  }
  return o;
}

/** A JSON file parsed with a schema; undefined when missing or invalid. */
export function readJsonFile<S extends z.ZodTypeAny>(path: string, schema: S): z.infer<S> | undefined {
  if (!existsSync(path)) return undefined;
  try {
    const r = schema.safeParse(JSON.parse(readFileSync(path, 'utf8')));
    return r.success ? (r.data as z.infer<S>) : undefined;
  } catch {
    return undefined;
  }
}

export function runsRoot(workspace: string): string {
  return join(workspace, RUNS_DIR);
}

export function runDir(workspace: string, id: string): string {
  return join(runsRoot(workspace), id);
}

/** Ids of every run folder in a workspace (folders under runs/ that hold a config.json), sorted. */
export function listRunIds(workspace: string): string[] {
  const root = runsRoot(workspace);
  if (!existsSync(root)) return [];
  return readdirSync(root)
    .filter((id) => {
      try {
        return statSync(join(root, id)).isDirectory() && existsSync(join(root, id, RUN_FILES.config));
      } catch {
        return false;
      }
    })
    .sort();
}

export function readMetrics(dir: string): JsonlRead<MetricRecord> {
  return readJsonl(join(dir, RUN_FILES.metrics), MetricRecordSchema);
}

export function readSamples(dir: string): SampleRecord[] {
  return readJsonl(join(dir, RUN_FILES.samples), SampleRecordSchema).records;
}

export function readStatus(dir: string): RunStatus | undefined {
  return readJsonFile(join(dir, RUN_FILES.status), RunStatusSchema);
}

export function readMeta(dir: string): RunMeta | undefined {
  return readJsonFile(join(dir, RUN_FILES.meta), RunMetaSchema);
}

/** The run's resolved config (untyped here: the trainer's RunConfig schema owns its shape). */
export function readConfig(dir: string): Record<string, unknown> | undefined {
  const p = join(dir, RUN_FILES.config);
  if (!existsSync(p)) return undefined;
  try {
    return JSON.parse(readFileSync(p, 'utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}
