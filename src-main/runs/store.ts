/**
 * The run store: creating run folders in a workspace (`<workspace>/runs/<id>/`), finding a run by id, id prefix or
 * name, and editing a run's meta.json (tags, notes). Ids are the trainer's (`<name>-<yyyymmdd-HHMMSS>`), made
 * unique by an exclusive mkdir, and stay valid folder names on every OS.
 */
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { hostname } from 'node:os';
import { writeFileAtomic } from '../util/atomic-write';
import { UserError } from '../util/errors';
import { RUN_FILES, RunMetaSchema, RunStatusSchema, type RunMeta, type RunStatus } from './format';
import { readMeta, runDir, runsRoot } from './read';
import { withStatusLock } from './status';
import { newRunId } from '../engine/train/run-folder';

/** File names the store and the queue keep beside the contract files (dot files: not part of the format). */
export const STORE_FILES = {
  /** The queue worker that has taken the run: {pid, host, worker, time}. */
  claim: '.claim.json',
  /** A pause or cancel asked for while a worker runs it: {action, time}. */
  request: '.request.json',
  /** The trainer's stderr, every attempt appended (for crash diagnosis). */
  trainerLog: 'trainer.log',
} as const;

/** A file-name-safe slug of a run name. */
export function slug(name: string): string {
  const s = name
    .toLowerCase()
    .replace(/[^a-z0-9.=_-]+/g, '-')
    .replace(/=/g, '')
    .replace(/-+/g, '-')
    .replace(/^-|-$/g, '');
  return (s || 'run').slice(0, 60);
}

/**
 * Makes the run's folder with an exclusive mkdir (two processes never share one) and returns its id: the
 * trainer's id form, `<name>-<yyyymmdd-HHMMSS>` (`-2`, `-3`… when taken).
 */
function makeRunFolder(workspace: string, name: string, now: Date): string {
  const root = runsRoot(workspace);
  mkdirSync(root, { recursive: true });
  for (let tries = 0; tries < 1000; tries++) {
    const id = newRunId(workspace, slug(name), now);
    try {
      mkdirSync(join(root, id));
      return id;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
  }
  throw new UserError(`cannot make a folder for run "${name}" in ${root}: too many runs of that name this second`, { code: 'FILE_EXISTS' });
}

export interface CreateRunOptions {
  /** The resolved run config (written once as config.json). */
  config: Record<string, unknown>;
  meta?: Partial<RunMeta>;
  /** Initial status fields (default: queued). */
  status?: Partial<RunStatus>;
  now?: Date;
}

export interface CreatedRun {
  id: string;
  dir: string;
}

/** Creates a run folder with config.json, meta.json and status.json (queued unless `status` says otherwise). */
export function createRun(workspace: string, o: CreateRunOptions): CreatedRun {
  const now = o.now ?? new Date();
  const name = o.meta?.name ?? (typeof o.config.name === 'string' ? o.config.name : 'run');
  const id = makeRunFolder(workspace, name, now);
  const dir = runDir(workspace, id);
  const iso = now.toISOString();
  const meta = RunMetaSchema.parse({ ...o.meta, name });
  const status = RunStatusSchema.parse({ state: 'queued', created: iso, updated: iso, priority: now.getTime(), ...o.status });
  writeFileAtomic(join(dir, RUN_FILES.config), `${JSON.stringify(o.config, null, 2)}\n`);
  writeFileAtomic(join(dir, RUN_FILES.meta), `${JSON.stringify(meta, null, 2)}\n`);
  // status.json last: a folder with a status is complete (listing shows it).
  writeFileAtomic(join(dir, RUN_FILES.status), `${JSON.stringify(status, null, 2)}\n`);
  return { id, dir };
}

/**
 * The run a user means by `ref`: an exact id, a unique id prefix, or a unique run name (meta.json). Throws
 * RUN_NOT_FOUND (with close candidates) or INVALID_ARGUMENT when it is ambiguous.
 */
export function resolveRun(workspace: string, ref: string): CreatedRun {
  const root = runsRoot(workspace);
  if (ref && !ref.includes('/') && existsSync(join(root, ref, RUN_FILES.config))) return { id: ref, dir: join(root, ref) };
  const ids = existsSync(root) ? readdirSync(root).filter((d) => !d.startsWith('.') && existsSync(join(root, d, RUN_FILES.config))) : [];
  const byPrefix = ids.filter((id) => id.startsWith(ref));
  const matches = byPrefix.length ? byPrefix : ids.filter((id) => readMeta(join(root, id))?.name === ref);
  if (matches.length === 1) return { id: matches[0], dir: join(root, matches[0]) };
  if (matches.length > 1) {
    throw new UserError(`"${ref}" matches ${matches.length} runs (${matches.slice(0, 5).join(', ')}${matches.length > 5 ? ', …' : ''}); give more of the id`, {
      code: 'INVALID_ARGUMENT', data: { ref, matches: matches.slice(0, 20) },
    });
  }
  throw new UserError(`no run "${ref}" in ${root}`, { code: 'RUN_NOT_FOUND', data: { ref, workspace } });
}

/** Applies a change to meta.json under the run's lock (tags, notes, name). */
export function updateMeta(dir: string, change: (m: RunMeta) => Partial<RunMeta>): RunMeta {
  return withStatusLock(dir, () => {
    const cur = readMeta(dir) ?? RunMetaSchema.parse({ name: 'run' });
    const next = RunMetaSchema.parse({ ...cur, ...change(cur) });
    writeFileAtomic(join(dir, RUN_FILES.meta), `${JSON.stringify(next, null, 2)}\n`);
    return next;
  });
}

export function addTags(dir: string, tags: string[]): RunMeta {
  return updateMeta(dir, (m) => ({ tags: [...new Set([...m.tags, ...tags])] }));
}

export function removeTags(dir: string, tags: string[]): RunMeta {
  return updateMeta(dir, (m) => ({ tags: m.tags.filter((t) => !tags.includes(t)) }));
}

/** Appends a note (notes are a text; each added note is one paragraph). */
export function addNote(dir: string, text: string): RunMeta {
  return updateMeta(dir, (m) => ({ notes: m.notes ? `${m.notes}\n\n${text}` : text }));
}

/** Whether a process is alive on this host (signal 0; EPERM means it exists but is not ours). */
export function pidAlive(pid: number | undefined): boolean {
  if (!pid || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The trainer of a running run is known to be alive (same host, process exists); unknown hosts count as alive. */
export function trainerAlive(s: RunStatus | undefined): boolean {
  if (!s?.pid) return false;
  if (s.host && s.host !== hostname()) return true;
  return pidAlive(s.pid);
}

