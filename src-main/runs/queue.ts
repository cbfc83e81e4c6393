/**
 * The run queue, kept in the workspace and safe across processes. A run is queued when its status.json says
 * `queued`; workers take runs in priority order (lower first, then id; runs/order.ts moves a run in that order).
 * Taking a run ("claiming") happens under one workspace lock (`runs/.queue.lock`, proper-lockfile: stale after a
 * kill -9) and writes an exclusive claim file in the run folder with the worker's pid and host, so two workers
 * never take the same run. A claim whose
 * worker and trainer are both dead (same host) is stale: its run is taken again and resumes.
 *
 * Pause and cancel of a running run are requests (a file in the run folder) that the run's worker acts on: it
 * sends its trainer SIGTERM (checkpoint, stop) and then records `paused` or `cancelled`. Runs not under a live
 * worker change state at once.
 */
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import lockfile from 'proper-lockfile';
import { writeFileAtomic } from '../util/atomic-write';
import { UserError } from '../util/errors';
import { FINISHED_STATES, type RunState, type RunStatus } from './format';
import { listRuns, type RunSummary } from './index';
import { queueOrder } from './order';
import { readStatus, runDir, runsRoot } from './read';
import { updateStatus } from './status';
import { pidAlive, STORE_FILES, trainerAlive } from './store';

export interface Claim {
  /** The worker process. */
  pid: number;
  host: string;
  /** Worker id (pid@host/slot), for display. */
  worker: string;
  time: string;
}

export type RequestAction = 'pause' | 'cancel';
export interface QueueRequest {
  action: RequestAction;
  time: string;
}

const QUEUE_LOCK = '.queue';

/** Runs `fn` holding the workspace's queue lock (waits for another holder; a dead holder's lock goes stale). */
export async function withQueueLock<T>(workspace: string, fn: () => T | Promise<T>): Promise<T> {
  const root = runsRoot(workspace);
  mkdirSync(root, { recursive: true });
  const release = await lockfile.lock(join(root, QUEUE_LOCK), {
    realpath: false,
    lockfilePath: join(root, `${QUEUE_LOCK}.lock`),
    stale: 10_000,
    retries: { retries: 200, factor: 1.2, minTimeout: 20, maxTimeout: 250 },
  });
  try {
    return await fn();
  } finally {
    await release();
  }
}

function readJson<T>(path: string): T | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

export function readClaim(dir: string): Claim | undefined {
  return readJson<Claim>(join(dir, STORE_FILES.claim));
}

/** A claim is live while its worker runs, or while the run's trainer is still alive (an orphaned trainer). */
export function claimLive(claim: Claim | undefined, status: RunStatus | undefined): boolean {
  if (!claim) return false;
  if (claim.host !== hostname()) return true; // another machine's worker: we cannot tell; never steal
  return pidAlive(claim.pid) || trainerAlive(status);
}

export function readRequest(dir: string): QueueRequest | undefined {
  return readJson<QueueRequest>(join(dir, STORE_FILES.request));
}

export function clearRequest(dir: string): void {
  rmSync(join(dir, STORE_FILES.request), { force: true });
}

export function releaseClaim(dir: string): void {
  rmSync(join(dir, STORE_FILES.claim), { force: true });
}

/** Runs waiting for a worker, in the order workers take them. */
export function queuedRuns(workspace: string): RunSummary[] {
  return listRuns(workspace)
    .filter((r) => r.state === 'queued')
    .sort(queueOrder);
}

export interface ClaimedRun {
  id: string;
  dir: string;
  /** The run was `running` under a worker that died: it is being taken over (a restart to record). */
  takeover: boolean;
}

/**
 * Takes the next run for a worker: the first queued run, or a running run whose worker and trainer died. Returns
 * undefined when there is nothing to do. `filter` lets a backend skip runs it cannot train.
 */
export async function claimNext(workspace: string, worker: Omit<Claim, 'time'>, filter?: (r: RunSummary) => boolean): Promise<ClaimedRun | undefined> {
  return withQueueLock(workspace, () => {
    const all = listRuns(workspace);
    const orphans = all.filter((r) => r.state === 'running').filter((r) => {
      const dir = runDir(workspace, r.id);
      const claim = readClaim(dir);
      return claim !== undefined && !claimLive(claim, readStatus(dir));
    });
    const queued = all.filter((r) => r.state === 'queued').sort(queueOrder);
    for (const r of [...orphans, ...queued]) {
      if (filter && !filter(r)) continue;
      const dir = runDir(workspace, r.id);
      const status = readStatus(dir);
      const takeover = status?.state === 'running';
      if (!status || (status.state !== 'queued' && !takeover)) continue;
      const claim = readClaim(dir);
      if (claim && claimLive(claim, status)) continue;
      if (claim) releaseClaim(dir);
      const path = join(dir, STORE_FILES.claim);
      let fd: number;
      try {
        fd = openSync(path, 'wx');
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EEXIST') continue;
        throw e;
      }
      writeSync(fd, `${JSON.stringify({ ...worker, time: new Date().toISOString() } satisfies Claim)}\n`);
      closeSync(fd);
      updateStatus(dir, { state: 'running', host: worker.host, pid: undefined });
      return { id: r.id, dir, takeover };
    }
    return undefined;
  });
}

export interface RequestResult {
  /** The state right after the call (a running run under a worker stays `running` until its worker acts). */
  state: RunState;
  /** The run's worker was asked to act (the state changes when its trainer has stopped). */
  requested: boolean;
}

/**
 * Pause or cancel a run. Queued → paused/cancelled at once; running under a live worker → a request for it;
 * running with no live worker (a trainer started by hand, or orphaned) → SIGTERM to its trainer and the state
 * recorded here. Paused runs can be cancelled. Finished runs cannot change (QUEUE_CONFLICT).
 */
export async function requestStop(workspace: string, id: string, action: RequestAction): Promise<RequestResult> {
  const dir = runDir(workspace, id);
  const target: RunState = action === 'pause' ? 'paused' : 'cancelled';
  return withQueueLock(workspace, () => {
    const s = readStatus(dir);
    if (!s) throw new UserError(`run ${id} has no status.json`, { code: 'RUN_NOT_FOUND', data: { id } });
    if (FINISHED_STATES.includes(s.state)) {
      throw new UserError(`run ${id} is ${s.state}; only queued, running or paused runs can be ${action === 'pause' ? 'paused' : 'cancelled'}`, { code: 'QUEUE_CONFLICT', data: { id, state: s.state } });
    }
    if (s.state === 'paused' && action === 'pause') return { state: 'paused' as RunState, requested: false };
    if (s.state === 'running') {
      const claim = readClaim(dir);
      if (claim && claimLive(claim, s) && (claim.host !== hostname() || pidAlive(claim.pid))) {
        writeFileAtomic(join(dir, STORE_FILES.request), `${JSON.stringify({ action, time: new Date().toISOString() } satisfies QueueRequest)}\n`);
        return { state: 'running' as RunState, requested: true };
      }
      // No worker: stop a live trainer ourselves (it checkpoints on SIGTERM), then record the state.
      if (trainerAlive(s) && s.pid) {
        try {
          process.kill(s.pid, 'SIGTERM');
        } catch {
          /* it just exited */
        }
      }
      releaseClaim(dir);
    }
    updateStatus(dir, { state: target, pid: undefined, ended: target === 'cancelled' ? new Date().toISOString() : s.ended });
    return { state: target, requested: false };
  });
}

/** Paused, cancelled or failed → queued again (it resumes from its newest checkpoint). Keeps its place in the queue. */
export async function requeue(workspace: string, id: string): Promise<RunStatus> {
  const dir = runDir(workspace, id);
  return withQueueLock(workspace, () => {
    const s = readStatus(dir);
    if (!s) throw new UserError(`run ${id} has no status.json`, { code: 'RUN_NOT_FOUND', data: { id } });
    if (s.state === 'queued') return s;
    if (!['paused', 'cancelled', 'failed'].includes(s.state)) {
      throw new UserError(`run ${id} is ${s.state}; only paused, cancelled or failed runs can be resumed`, { code: 'QUEUE_CONFLICT', data: { id, state: s.state } });
    }
    if (existsSync(join(dir, STORE_FILES.claim)) && claimLive(readClaim(dir), s)) {
      throw new UserError(`run ${id} is still held by a worker; wait until it has stopped`, { code: 'QUEUE_CONFLICT', data: { id } });
    }
    releaseClaim(dir);
    clearRequest(dir);
    return updateStatus(dir, { state: 'queued', pid: undefined, ended: undefined, error: undefined });
  });
}

/** Waits until the run leaves `running` (after a request), up to `timeoutMs`; returns its state. */
export async function waitForState(workspace: string, id: string, timeoutMs: number, signal?: AbortSignal): Promise<RunState | undefined> {
  const dir = runDir(workspace, id);
  const end = Date.now() + timeoutMs;
  for (;;) {
    const s = readStatus(dir);
    if (s && s.state !== 'running' && !existsSync(join(dir, STORE_FILES.claim))) return s.state;
    if (Date.now() > end || signal?.aborted) return s?.state;
    await new Promise((r) => setTimeout(r, 200));
  }
}
