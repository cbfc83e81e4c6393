/**
 * Listing the runs of a workspace fast: a small index (`runs/.index.json`) of per-run summaries, each keyed by the
 * run folder's mtime. Every writer of config/meta/status replaces the file atomically (a temporary file renamed
 * over it: util/atomic-write.ts, runs/status.ts), which changes the folder's mtime, so one stat per run tells
 * whether its summary is still right (appends to metrics.jsonl do not touch it, nor should they: listings never
 * read metrics); only new or changed runs are read again, and the index is rewritten when
 * anything changed. A missing, unreadable or other-version index is rebuilt from the folders. The index is a
 * cache (written without fsync): the folders stay the truth, and two processes writing it at once both write a
 * correct one.
 */
import { readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RUN_FILES, type RunState } from './format';
import { readConfig, readMeta, readStatus, runsRoot } from './read';

export const INDEX_FILE = '.index.json';
const INDEX_VERSION = 3;

/** What a listing shows of one run (everything comes from status/meta/config, never from metrics). */
export interface RunSummary {
  id: string;
  name: string;
  state: RunState | 'unknown';
  created?: string;
  updated?: string;
  step?: number;
  total_steps?: number;
  tokens_per_s?: number;
  elapsed_s?: number;
  best_val_loss?: number;
  final_val_loss?: number;
  final_loss?: number;
  attempts: number;
  restarts: number;
  pid?: number;
  host?: string;
  priority?: number;
  tags: string[];
  group?: string;
  sweep?: { name: string; keys: Record<string, unknown> };
  imported_from?: string;
  /** A few config values for the table: learning rate, batch size, model size. */
  lr?: number;
  batch_size?: number;
  d_model?: number;
  num_layers?: number;
}

interface IndexEntry {
  key: string;
  summary: RunSummary;
}

interface IndexFile {
  version: number;
  entries: Record<string, IndexEntry>;
}

function fileKey(path: string): string {
  const s = statSync(path, { throwIfNoEntry: false });
  return s ? String(s.mtimeMs) : '-';
}

/** The staleness key of a run folder: '' when it is not a run (no config.json yet). */
function runKey(dir: string, cached: boolean): string {
  const d = fileKey(dir);
  // config.json is written once, first: a folder known to the index has one; a new folder must be checked.
  if (!cached && fileKey(join(dir, RUN_FILES.config)) === '-') return '';
  return d;
}

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

/** Reads one run folder into its summary. */
export function summarizeRun(root: string, id: string): RunSummary {
  const dir = join(root, id);
  const status = readStatus(dir);
  const meta = readMeta(dir);
  const config = readConfig(dir) ?? {};
  const section = (k: string) => (config[k] && typeof config[k] === 'object' ? (config[k] as Record<string, unknown>) : {});
  const training = section('training');
  const model = section('model');
  return {
    id,
    name: meta?.name ?? (typeof config.name === 'string' ? config.name : id),
    state: status?.state ?? 'unknown',
    created: status?.created,
    updated: status?.updated,
    step: status?.step,
    total_steps: status?.total_steps,
    tokens_per_s: status?.tokens_per_s,
    elapsed_s: status?.elapsed_s,
    best_val_loss: status?.best_val_loss,
    final_val_loss: status?.final_val_loss,
    final_loss: status?.final_loss,
    attempts: status?.attempts ?? 0,
    restarts: status?.restarts.length ?? 0,
    pid: status?.state === 'running' ? status.pid : undefined,
    host: status?.host,
    priority: status?.priority,
    tags: meta?.tags ?? [],
    group: meta?.group,
    sweep: meta?.sweep,
    imported_from: meta?.imported_from,
    lr: num(training.max_learning_rate),
    batch_size: num(training.batch_size),
    d_model: num(model.d_model),
    num_layers: num(model.num_layers),
  };
}

function readIndex(path: string): IndexFile | undefined {
  try {
    const raw = JSON.parse(readFileSync(path, 'utf8')) as IndexFile;
    return raw && raw.version === INDEX_VERSION && raw.entries && typeof raw.entries === 'object' ? raw : undefined;
  } catch {
    return undefined;
  }
}

export interface ListStats {
  runs: number;
  /** Runs read from their folders (new or changed since the index was written). */
  reread: number;
  /** Whether the index file was (re)written. */
  wroteIndex: boolean;
}

/** Every run in the workspace, oldest first (by status.json's created, then id), through the index. */
export function listRuns(workspace: string, stats?: ListStats): RunSummary[] {
  const root = runsRoot(workspace);
  let names: string[];
  try {
    names = readdirSync(root, { withFileTypes: true })
      .filter((d) => d.isDirectory() && !d.name.startsWith('.'))
      .map((d) => d.name)
      .sort();
  } catch {
    if (stats) Object.assign(stats, { runs: 0, reread: 0, wroteIndex: false });
    return [];
  }
  const indexPath = join(root, INDEX_FILE);
  const old = readIndex(indexPath)?.entries ?? {};
  const entries: Record<string, IndexEntry> = {};
  let reread = 0;
  let changed = Object.keys(old).length === 0 && names.length > 0;
  const out: RunSummary[] = [];
  for (const id of names) {
    const dir = join(root, id);
    const prev = old[id];
    const key = runKey(dir, prev !== undefined);
    if (!key) continue; // no config.json: not a run (or one being created)
    let summary: RunSummary;
    if (prev && prev.key === key) summary = prev.summary;
    else {
      summary = summarizeRun(root, id);
      reread++;
      changed = true;
    }
    entries[id] = { key, summary };
    out.push(summary);
  }
  if (!changed && Object.keys(old).length !== Object.keys(entries).length) changed = true; // runs deleted
  let wroteIndex = false;
  if (changed) {
    try {
      const tmp = `${indexPath}.tmp-${process.pid}`;
      writeFileSync(tmp, JSON.stringify({ version: INDEX_VERSION, entries } satisfies IndexFile));
      renameSync(tmp, indexPath);
      wroteIndex = true;
    } catch {
      // a read-only workspace still lists (just without the cache)
    }
  }
  if (stats) Object.assign(stats, { runs: out.length, reread, wroteIndex });
  return out.sort((a, b) => (a.created ?? '').localeCompare(b.created ?? '') || a.id.localeCompare(b.id));
}
