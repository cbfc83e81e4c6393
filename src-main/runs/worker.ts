/**
 * The queue worker: each slot of a backend takes queued runs one at a time and trains each in a child trainer
 * process. The worker is the trainer's supervisor:
 * - a trainer that dies (kill -9, a Dawn abort, out of memory, any exit other than done/paused/diverged/bad input)
 *   is started again (it resumes from its newest valid checkpoint, or from scratch) up to `retries` times per
 *   claim; each restart is recorded in status.json (restarts[]: time, from_step, reason; attempts); past the limit
 *   the run is `failed`;
 * - a diverged run (exit 4) stays diverged and the worker moves on (sweep rules may cancel the rest of a ladder);
 * - bad input (exit 2) or no GPU driver (exit 3) fails at once: restarting cannot help;
 * - pause/cancel requests (queue.ts) become SIGTERM to the trainer, then `paused` / `cancelled`;
 * - when the worker itself is stopped (its AbortSignal), its trainers checkpoint and their runs go back to
 *   `queued` in the same place, for the next worker.
 * Events are plain JSON (WorkerEvent) for the CLI or the app to show.
 */
import { existsSync, readdirSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { TrainEvent } from '../engine/train/events';
import { errorInfo, type ErrorInfo } from '../util/errors';
import type { Backend, Slot, TrainerExit } from './backend';
import { RUN_FILES, type RunState } from './format';
import type { RunSummary } from './index';
import { claimNext, clearRequest, readClaim, readRequest, releaseClaim, withQueueLock } from './queue';
import { readStatus, runDir } from './read';
import { updateStatus } from './status';
import { afterRunFinished } from './sweep-policy';

export type WorkerEvent =
  | { type: 'claimed'; id: string; slot: string; takeover: boolean }
  | { type: 'trainer-start'; id: string; slot: string; pid?: number; attempt: number }
  | { type: 'train'; id: string; event: TrainEvent }
  | { type: 'output'; id: string; line: string }
  | { type: 'restart'; id: string; from_step: number; reason: string; restart: number; retries: number }
  | { type: 'finished'; id: string; state: RunState; error?: ErrorInfo }
  | { type: 'cancelled-by-sweep'; id: string; ids: string[]; reason: string }
  | { type: 'store-error'; id: string; error: ErrorInfo }
  | { type: 'idle'; slot: string };

export interface WorkerOptions {
  workspace: string;
  backend: Backend;
  /** Restarts after a crash, per claim of a run (default 3). */
  retries?: number;
  /** Stop when nothing is queued (instead of waiting for new runs). */
  untilEmpty?: boolean;
  /** How often an idle slot looks for queued runs, and a busy one for pause/cancel requests (ms). */
  pollMs?: number;
  signal?: AbortSignal;
  onEvent?: (e: WorkerEvent) => void;
  /** Train exactly this run (a Slurm job's worker); without it the worker skips runs another backend owns. */
  only?: string;
  /** Recorded as status.json `backend` instead of the slot's name ("slurm:123"). */
  backendRef?: string;
}

/** Exit statuses of `lmwb train` (see cli/exit-codes.ts): 0 done or paused, 2 bad input, 3 no GPU driver, 4 diverged. */
const EXIT_DIVERGED = 4;
const NO_RETRY = new Set([2, 3]);

/** The step of the newest checkpoint file in a run folder (0 when none): where a restarted trainer resumes. */
export function newestCheckpointStep(dir: string): number {
  const ck = join(dir, RUN_FILES.checkpoints);
  if (!existsSync(ck)) return 0;
  let best = 0;
  for (const f of readdirSync(ck)) {
    const m = /^step_(\d+)\.safetensors$/.exec(f);
    if (m) best = Math.max(best, Number(m[1]));
  }
  return best;
}

function describeExit(x: TrainerExit, lastError?: ErrorInfo): string {
  const how = x.signal ? `signal ${x.signal}` : `exit code ${x.code}`;
  if (lastError) return `${how}: ${lastError.message}`;
  if (x.signal) return how; // killed from outside: its last output line is just progress
  const line = x.stderrTail.trim().split('\n').filter(Boolean).pop();
  return line ? `${how}: ${line.slice(0, 300)}` : how;
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });

/** Runs that a cluster scheduler starts (status.json backend "slurm:…"): local workers leave them alone. */
export function slurmOwned(backend: string | undefined): boolean {
  return backend?.startsWith('slurm:') ?? false;
}

const sameJob = (worker: string, ref: string) => {
  const slot = worker.slice(worker.indexOf('/') + 1);
  return slot === ref || slot.startsWith(`${ref}#`);
};

/**
 * Puts back in the queue a run whose claim names this Slurm job (an earlier, killed run of it), recording the
 * restart. The run may be `running` (its trainer was killed) or `paused` (the trainer checkpointed on the job's
 * USR1/SIGTERM, but the job's worker was ended before it could put the run back): a pause a person asked for
 * leaves a pending request or releases the claim, and stays paused.
 */
async function takeBackRequeuedRun(workspace: string, id: string, ref: string): Promise<void> {
  const dir = runDir(workspace, id);
  await withQueueLock(workspace, () => {
    const claim = readClaim(dir);
    const s = readStatus(dir);
    if (!claim || !s || !sameJob(claim.worker, ref)) return;
    if (s.state !== 'running' && !(s.state === 'paused' && !readRequest(dir))) return;
    if (claim.host === hostname() && claim.pid === process.pid) return;
    releaseClaim(dir);
    const from = newestCheckpointStep(dir);
    updateStatus(dir, (st) => ({
      state: 'queued', pid: undefined,
      restarts: [...st.restarts, { time: new Date().toISOString(), from_step: from, reason: `its Slurm job ${ref.slice(6)} was requeued` }],
    }));
  });
}

/** Runs the queue until it is empty (untilEmpty) or the signal fires. Resolves with the runs this worker finished. */
export async function runWorker(o: WorkerOptions): Promise<Array<{ id: string; state: RunState }>> {
  const finished: Array<{ id: string; state: RunState }> = [];
  const emit = (e: WorkerEvent) => o.onEvent?.(e);
  const pollMs = o.pollMs ?? 1000;
  const slots = o.backend.slots();
  // A Slurm job's worker: a claim left by an earlier run of the same job (requeued after a kill) is dead, since
  // Slurm runs one instance of a job at a time, even when it ran on another node.
  if (o.only && o.backendRef) await takeBackRequeuedRun(o.workspace, o.only, o.backendRef);
  const filter = (r: RunSummary) => (o.only ? r.id === o.only : !slurmOwned(readStatus(runDir(o.workspace, r.id))?.backend));
  await Promise.all(
    slots.map(async (slot, i) => {
      const worker = { pid: process.pid, host: hostname(), worker: `${process.pid}@${hostname()}/${o.backendRef ?? slot.name}${slots.length > 1 ? `#${i}` : ''}` };
      let idleSaid = false;
      while (!o.signal?.aborted) {
        const claimed = await claimNext(o.workspace, worker, filter);
        if (!claimed) {
          if (o.untilEmpty) break;
          if (!idleSaid) emit({ type: 'idle', slot: slot.name });
          idleSaid = true;
          await sleep(pollMs, o.signal);
          continue;
        }
        idleSaid = false;
        emit({ type: 'claimed', id: claimed.id, slot: slot.name, takeover: claimed.takeover });
        try {
          const state = await superviseRun(o, slot, claimed.id, claimed.dir, claimed.takeover, emit, pollMs);
          finished.push({ id: claimed.id, state });
        } catch (e) {
          // The store itself failed (disk full, a lock that never frees): the worker survives and the run goes
          // back to the queue when its status can still be written (else it keeps its state for a person to see).
          emit({ type: 'store-error', id: claimed.id, error: errorInfo(e) });
          try {
            updateStatus(claimed.dir, { state: 'queued', pid: undefined });
            releaseClaim(claimed.dir);
          } catch {
            /* nothing more to do */
          }
          await sleep(pollMs, o.signal);
        }
      }
    }),
  );
  return finished;
}

/** Trains one claimed run to a final state, restarting its trainer after crashes. */
async function superviseRun(
  o: WorkerOptions, slot: Slot, id: string, dir: string, takeover: boolean, emit: (e: WorkerEvent) => void, pollMs: number,
): Promise<RunState> {
  const retries = o.retries ?? 3;
  let restarts = 0;
  const finish = async (state: RunState, extra: Parameters<typeof updateStatus>[1] = {}, error?: ErrorInfo): Promise<RunState> => {
    const now = new Date().toISOString();
    updateStatus(dir, (s) => ({
      state, pid: undefined, ended: state === 'queued' || state === 'paused' ? s.ended : now, ...(error ? { error } : {}),
      ...(typeof extra === 'function' ? extra(s) : extra),
    }));
    clearRequest(dir);
    releaseClaim(dir);
    emit({ type: 'finished', id, state, error });
    if (state === 'diverged' || state === 'done') {
      const cancelled = await afterRunFinished(o.workspace, id, state);
      if (cancelled.ids.length) emit({ type: 'cancelled-by-sweep', id, ids: cancelled.ids, reason: cancelled.reason });
    }
    return state;
  };
  const recordRestart = (reason: string) => {
    const from = newestCheckpointStep(dir);
    updateStatus(dir, (s) => ({ pid: undefined, restarts: [...s.restarts, { time: new Date().toISOString(), from_step: from, reason }] }));
    emit({ type: 'restart', id, from_step: from, reason, restart: restarts, retries });
  };
  if (takeover) {
    restarts++;
    recordRestart('its worker died (run taken over by another worker)');
  }

  for (;;) {
    const st = updateStatus(dir, (s) => ({
      state: 'running', attempts: s.attempts + 1, backend: o.backendRef ?? slot.name, host: hostname(), started: s.started ?? new Date().toISOString(),
    }));
    let lastError: ErrorInfo | undefined;
    let doneState: 'done' | 'paused' | 'diverged' | undefined;
    const justRestarted = restarts > 0;
    const proc = slot.launch(dir, {
      onEvent: (e) => {
        if (e.type === 'error') lastError = e.error;
        if (e.type === 'done') doneState = e.state;
        if (e.type === 'start' && justRestarted) {
          // The trainer knows which checkpoint was valid: correct the restart's from_step if it differs.
          updateStatus(dir, (s) => {
            const r = [...s.restarts];
            const last = r[r.length - 1];
            if (last && last.from_step !== e.start_step) r[r.length - 1] = { ...last, from_step: e.start_step };
            return { restarts: r };
          });
        }
        emit({ type: 'train', id, event: e });
      },
      onOutput: (line) => emit({ type: 'output', id, line }),
    });
    if (proc.pid) updateStatus(dir, { pid: proc.pid });
    emit({ type: 'trainer-start', id, slot: slot.name, pid: proc.pid, attempt: st.attempts });

    // Forward a pause/cancel request, or the worker's own stop, as one SIGTERM.
    let stopSent: 'pause' | 'cancel' | 'worker' | undefined;
    const onAbort = () => {
      if (!stopSent) {
        stopSent = 'worker';
        proc.stop();
      }
    };
    o.signal?.addEventListener('abort', onAbort, { once: true });
    if (o.signal?.aborted) onAbort();
    const timer = setInterval(() => {
      if (stopSent) return;
      const req = readRequest(dir);
      if (req) {
        stopSent = req.action;
        proc.stop();
      }
    }, Math.min(pollMs, 250));
    const exit = await proc.exited;
    clearInterval(timer);
    o.signal?.removeEventListener('abort', onAbort);

    const status = readStatus(dir);
    const request = readRequest(dir)?.action ?? (stopSent === 'pause' || stopSent === 'cancel' ? stopSent : undefined);
    const trainerFinal = doneState ?? (status && ['done', 'diverged'].includes(status.state) ? status.state : undefined);
    if (exit.code === 0 && (trainerFinal === 'done' || trainerFinal === 'diverged')) return finish(trainerFinal);
    if (exit.code === EXIT_DIVERGED) return finish('diverged');
    if (request) return finish(request === 'pause' ? 'paused' : 'cancelled');
    if (stopSent === 'worker' && (exit.code === 0 || exit.signal === 'SIGTERM')) return finish('queued');
    if (exit.code === 0) {
      if (trainerFinal === undefined && (doneState === 'paused' || status?.state === 'paused')) return finish('paused');
      return finish('failed', {}, { code: 'WORKER_DIED', message: 'the trainer exited without finishing the run or saying why', data: { stderr: exit.stderrTail } });
    }
    const reason = describeExit(exit, lastError);
    if (exit.code !== null && NO_RETRY.has(exit.code)) {
      return finish('failed', {}, lastError ?? { code: exit.code === 3 ? 'NO_GPU_DRIVER' : 'CONFIG_INVALID', message: reason, data: { stderr: exit.stderrTail } });
    }
    if (restarts >= retries || o.signal?.aborted) {
      return finish('failed', {}, {
        code: 'WORKER_DIED', message: `the trainer died ${restarts + 1} time${restarts ? 's' : ''} (retry limit ${retries}); last: ${reason}`,
        data: { stderr: exit.stderrTail, ...(lastError ? { last_error: lastError } : {}) },
      });
    }
    restarts++;
    recordRestart(reason);
    await sleep(300, o.signal);
  }
}
