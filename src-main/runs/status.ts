/**
 * status.json updates, safe across processes: the trainer (progress, final state) and the queue worker (queued,
 * attempts, restarts, a crashed trainer) both write it. Each update is read-modify-write under a lock on the run
 * folder (proper-lockfile: a lock directory with stale detection, so a kill -9 holding it never wedges the run),
 * and the file is replaced atomically, so readers never see half of it.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import lockfile from 'proper-lockfile';
import { writeFileAtomic } from '../util/atomic-write';
import { RUN_FILES, RunStatusSchema, type RunStatus } from './format';
import { readStatus } from './read';

const STALE_MS = 10_000;

/** Runs `fn` holding the run folder's status lock (`<dir>/.status.lock`). */
export function withStatusLock<T>(dir: string, fn: () => T): T {
  mkdirSync(dir, { recursive: true });
  const release = lockSyncWithRetry(join(dir, RUN_FILES.status));
  try {
    return fn();
  } finally {
    release();
  }
}

function lockSyncWithRetry(file: string): () => void {
  // lockSync has no retries of its own; spin briefly (updates are tiny, so contention is short). Wait past the
  // stale time: a writer killed (kill -9) while holding the lock leaves it behind until it goes stale.
  const deadline = Date.now() + STALE_MS + 5_000;
  for (;;) {
    try {
      return lockfile.lockSync(file, { stale: STALE_MS, realpath: false, lockfilePath: `${file}.lock` });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ELOCKED' || Date.now() > deadline) throw e;
      const until = Date.now() + 5;
      while (Date.now() < until) {
        /* brief spin: Atomics.wait is not allowed on the main thread in every host */
      }
    }
  }
}

/**
 * Applies `patch` (or a function of the current status) to status.json and returns the new status. A missing
 * status starts from `{state: 'queued', created: now}`. `updated` is always set.
 */
export function updateStatus(dir: string, patch: Partial<RunStatus> | ((s: RunStatus) => Partial<RunStatus>)): RunStatus {
  return withStatusLock(dir, () => {
    const now = new Date().toISOString();
    const cur: RunStatus = readStatus(dir) ?? RunStatusSchema.parse({ state: 'queued', created: now, updated: now });
    const p = typeof patch === 'function' ? patch(cur) : patch;
    const next = RunStatusSchema.parse({ ...cur, ...p, updated: now });
    writeFileAtomic(join(dir, RUN_FILES.status), `${JSON.stringify(next, null, 2)}\n`);
    return next;
  });
}

export function hasStatus(dir: string): boolean {
  return existsSync(join(dir, RUN_FILES.status));
}
