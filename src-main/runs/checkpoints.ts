/**
 * A run's checkpoints as the Checkpoints browser shows them, and the two things it does to them: delete one and
 * export (copy) one. Listing reads only each file's safetensors header (step, tokens, training time from its
 * metadata) and the run's metrics.jsonl for the validation loss at that step (the checkpoint's own metadata wins if
 * it carries `val_loss`); "best" is the lowest val loss among the listed ones, the rule `lmwb generate --best` uses.
 *
 * Delete is atomic with respect to the run: it holds the workspace's queue lock (no worker can claim or resume the
 * run meanwhile) and the run's status lock, and refuses to remove the newest checkpoint of a run that will resume
 * from it (running, paused or queued). Export copies to a temporary file beside the destination, fsyncs it and
 * renames it into place; an existing file is replaced only when asked to.
 */
import { closeSync, existsSync, fsyncSync, linkSync, openSync, readdirSync, readSync, renameSync, rmSync, statSync } from 'node:fs';
import { copyFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { tempPathFor } from '../util/atomic-write';
import { throwIfAborted, UserError } from '../util/errors';
import { RUN_FILES, type RunState } from './format';
import { withQueueLock } from './queue';
import { readMetrics, readStatus, runDir, runsRoot } from './read';
import { withStatusLock } from './status';

const CKPT_RE = /^step_(\d+)\.safetensors$/;

/** A checkpoint file name as the API takes it: exactly `step_<digits>.safetensors` (never a path). */
export function isCheckpointName(file: string): boolean {
  return CKPT_RE.test(file);
}

export interface CheckpointInfo {
  file: string;
  step: number;
  bytes: number;
  /** When the file was written (its mtime, ISO). */
  time: string;
  /** Validation loss at this step, and where it came from; null when no evaluation happened at this step. */
  valLoss: number | null;
  valLossFrom: 'metadata' | 'metrics' | null;
  /** From the checkpoint's metadata (null when unreadable). */
  tokens: number | null;
  elapsedS: number | null;
  /** The lowest val loss of the listed checkpoints. */
  best: boolean;
  /** The highest step: what a resumed run continues from. */
  newest: boolean;
  /** The header could not be read (a truncated or foreign file). */
  unreadable: boolean;
}

/** The `__metadata__` of a safetensors file, reading only its header. */
export function readCheckpointMetadata(path: string): Record<string, string> | undefined {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const head = Buffer.alloc(8);
    if (readSync(fd, head, 0, 8, 0) !== 8) return undefined;
    const n = Number(head.readBigUInt64LE(0));
    if (n <= 0 || n > 100 * 2 ** 20) return undefined;
    const hb = Buffer.alloc(n);
    if (readSync(fd, hb, 0, n, 8) !== n) return undefined;
    const header = JSON.parse(hb.toString('utf8')) as { __metadata__?: Record<string, string> };
    return header.__metadata__ ?? {};
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

const finite = (v: unknown): number | null => {
  const x = typeof v === 'string' ? Number(v) : v;
  return typeof x === 'number' && Number.isFinite(x) ? x : null;
};

/** The checkpoints of a run folder, oldest first. */
export function listRunCheckpoints(dir: string): CheckpointInfo[] {
  const ckDir = join(dir, RUN_FILES.checkpoints);
  if (!existsSync(ckDir)) return [];
  const files = readdirSync(ckDir).filter(isCheckpointName);
  const evalAt = new Map<number, number>();
  if (files.length) {
    for (const r of readMetrics(dir).records) if (r.kind === 'eval' && Number.isFinite(r.val_loss)) evalAt.set(r.step, r.val_loss as number);
  }
  const out: CheckpointInfo[] = [];
  for (const file of files) {
    const path = join(ckDir, file);
    const st = statSync(path, { throwIfNoEntry: false });
    if (!st) continue; // removed since the listing (keep_last pruning)
    const step = Number(CKPT_RE.exec(file)![1]);
    const md = readCheckpointMetadata(path);
    const mdLoss = finite(md?.val_loss);
    const metricsLoss = evalAt.get(step) ?? null;
    out.push({
      file,
      step,
      bytes: st.size,
      time: st.mtime.toISOString(),
      valLoss: mdLoss ?? metricsLoss,
      valLossFrom: mdLoss !== null ? 'metadata' : metricsLoss !== null ? 'metrics' : null,
      tokens: finite(md?.tokens_seen),
      elapsedS: finite(md?.elapsed_s),
      best: false,
      newest: false,
      unreadable: md === undefined,
    });
  }
  out.sort((a, b) => a.step - b.step);
  if (out.length) out[out.length - 1].newest = true;
  let best: CheckpointInfo | undefined;
  for (const c of out) if (c.valLoss !== null && (!best || c.valLoss < best.valLoss!)) best = c;
  if (best) best.best = true;
  return out;
}

/** States in which the run will continue from its newest checkpoint. */
const RESUMES: readonly RunState[] = ['running', 'paused', 'queued'];

/** Deletes one checkpoint of a run (see the file comment for when it refuses). Returns what is left. */
export async function deleteCheckpoint(workspace: string, id: string, file: string): Promise<CheckpointInfo[]> {
  if (!isCheckpointName(file)) throw new UserError(`"${file}" is not a checkpoint name (step_NNNNNNN.safetensors)`, { code: 'INVALID_ARGUMENT', data: { file } });
  const dir = runDir(workspace, id);
  return withQueueLock(workspace, () =>
    withStatusLock(dir, () => {
      const path = join(dir, RUN_FILES.checkpoints, file);
      if (!existsSync(path)) throw new UserError(`run ${id} has no checkpoint ${file} (already deleted?)`, { code: 'FILE_NOT_FOUND', data: { id, file } });
      const list = listRunCheckpoints(dir);
      const state = readStatus(dir)?.state;
      const newest = list[list.length - 1];
      if (state && RESUMES.includes(state) && newest?.file === file) {
        throw new UserError(
          `${file} is the newest checkpoint of run ${id}, which is ${state} and resumes from it; it can be deleted once the run has finished or a newer checkpoint exists`,
          { code: 'QUEUE_CONFLICT', data: { id, file, state } },
        );
      }
      rmSync(path);
      rmSync(`${path}.sha256`, { force: true });
      return listRunCheckpoints(dir);
    }),
  );
}

export interface ExportResult {
  path: string;
  bytes: number;
  /** An existing file was replaced (only when asked to). */
  replaced: boolean;
}

/**
 * Copies a run's checkpoint to `dest` (an absolute path; an existing folder gets `<run>-<file>` inside it). The copy
 * goes to a temporary file beside the destination, is fsynced, then renamed into place: a reader never sees half a
 * file. Without `overwrite`, an existing destination is an error (FILE_EXISTS) and is never touched.
 */
export async function exportCheckpoint(
  workspace: string, id: string, file: string, dest: string, o: { overwrite?: boolean; signal?: AbortSignal } = {},
): Promise<ExportResult> {
  if (!isCheckpointName(file)) throw new UserError(`"${file}" is not a checkpoint name (step_NNNNNNN.safetensors)`, { code: 'INVALID_ARGUMENT', data: { file } });
  if (!isAbsolute(dest)) throw new UserError(`the export destination must be an absolute path, got "${dest}"`, { code: 'INVALID_ARGUMENT', data: { dest } });
  const src = join(runDir(workspace, id), RUN_FILES.checkpoints, file);
  if (!existsSync(src)) throw new UserError(`run ${id} has no checkpoint ${file}`, { code: 'FILE_NOT_FOUND', data: { id, file } });
  let target = dest;
  if (statSync(dest, { throwIfNoEntry: false })?.isDirectory()) target = join(dest, `${id}-${file}`);
  if (!statSync(dirname(target), { throwIfNoEntry: false })?.isDirectory()) {
    throw new UserError(`cannot export to ${target}: the folder ${dirname(target)} does not exist`, { code: 'FILE_NOT_FOUND', data: { dest: target } });
  }
  // A copy inside the run store would look like a checkpoint (or a run file) to the trainer and the readers.
  const store = resolve(runsRoot(workspace));
  const rel = relative(store, resolve(target));
  if (rel === '' || (!rel.startsWith('..') && !isAbsolute(rel))) {
    throw new UserError(`cannot export into the workspace's runs folder (${store}); pick a path outside it`, { code: 'INVALID_ARGUMENT', data: { dest: target } });
  }
  const exists = existsSync(target);
  if (exists && !o.overwrite) {
    throw new UserError(`${target} already exists; confirm to replace it, or pick another name`, { code: 'FILE_EXISTS', data: { dest: target } });
  }
  if (exists && statSync(target).isDirectory()) throw new UserError(`${target} is a folder`, { code: 'FILE_EXISTS', data: { dest: target } });
  throwIfAborted(o.signal);
  const tmp = tempPathFor(target);
  try {
    await copyFile(src, tmp);
    throwIfAborted(o.signal);
    const fd = openSync(tmp, 'r+');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    if (o.overwrite) renameSync(tmp, target);
    else {
      // link() fails if the name appeared meanwhile, so a file created after the check is never replaced.
      try {
        linkSync(tmp, target);
        rmSync(tmp, { force: true });
      } catch (e) {
        const c = (e as NodeJS.ErrnoException).code;
        if (c !== 'EPERM' && c !== 'ENOTSUP' && c !== 'EOPNOTSUPP') throw e;
        // A file system without hard links (FAT, some network mounts): check, then rename.
        if (existsSync(target)) throw Object.assign(new Error('exists'), { code: 'EEXIST' });
        renameSync(tmp, target);
      }
    }
  } catch (e) {
    rmSync(tmp, { force: true });
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw new UserError(`${target} already exists; confirm to replace it, or pick another name`, { code: 'FILE_EXISTS', data: { dest: target } });
    if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') {
      throw new UserError(`cannot write ${target}: ${(e as Error).message}`, { code: 'FILE_NOT_WRITABLE', data: { dest: target }, cause: e });
    }
    if (code === 'ENOSPC' || code === 'EDQUOT') throw new UserError(`no space left for ${target}`, { code: 'DISK_FULL', data: { dest: target }, cause: e });
    throw e;
  }
  return { path: target, bytes: statSync(target).size, replaced: exists };
}
