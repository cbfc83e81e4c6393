/**
 * Dataset preparation jobs, supervised by the backend: each job is a `lmwb dataset prepare --events ndjson` child
 * process (tokenizer training and encoding are CPU-heavy and use worker threads: never in the backend, which may
 * be Electron's main process). The child prepares into a staging folder, `<workspace>/datasets/.staging/<name>/`,
 * which is renamed to `datasets/<name>/` only when it finished: a dataset appears complete or not at all. Cancel
 * sends SIGTERM (the child aborts through its AbortSignal: every output is a temporary file renamed when complete,
 * so nothing half-written is left; the steps that finished stay in staging and preparing the same name from the
 * same inputs again reuses them). The child's events become job updates (phase, progress, rate, ETA), pushed at
 * most every `flushMs` (≥ 100 ms: at most ~10 a second).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import type { DatasetJob, TokenizerChoice } from '../api/areas/datasets';
import { checkDatasetVocabSize } from '../dataset/prepare';
import type { PrepareStreamEvent } from '../dataset/events';
import { UserError } from '../util/errors';
import { lmwbBin } from './launcher';

export interface PrepareSpec {
  name: string;
  train: string;
  valid?: string;
  validFraction?: number;
  tokenizer: TokenizerChoice;
  invalidUtf8: 'error' | 'replace';
}

export const STAGING = '.staging';

/** How long a cancelled child gets to stop before it is killed. */
const KILL_AFTER_MS = 15_000;

interface Live {
  job: DatasetJob;
  child: ChildProcess;
  /** Where the running step's rate is measured from. */
  rateFrom: { task: string; t: number; done: number } | null;
  stderr: string;
  terminal: boolean;
  exited: Promise<void>;
  killTimer?: NodeJS.Timeout;
}

/** A text path from the UI: absolute, or relative to the workspace; it must be a non-empty file. */
export function resolveTextPath(workspace: string, p: string, role: string): string {
  const abs = isAbsolute(p) ? p : resolve(workspace, p);
  let st;
  try {
    st = statSync(abs);
  } catch {
    throw new UserError(`${role} file not found: ${abs}`, { code: 'FILE_NOT_FOUND', data: { path: abs, role } });
  }
  if (!st.isFile()) throw new UserError(`${role} is not a file: ${abs}`, { code: 'FILE_INVALID', data: { path: abs, role } });
  if (st.size === 0) throw new UserError(`${role} file ${abs} is empty`, { code: 'FILE_INVALID', data: { path: abs, role, size: 0 } });
  return abs;
}

export class DatasetJobs {
  private readonly jobs = new Map<string, Live>();
  private readonly dirty = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private lastFlush = 0;
  private closed = false;
  private readonly flushMs: number;

  constructor(
    readonly workspace: string,
    /** Receives the jobs that changed, batched. */
    private readonly onUpdate: (jobs: DatasetJob[]) => void,
    opts: { flushMs?: number } = {},
  ) {
    this.flushMs = Math.max(100, opts.flushMs ?? 100);
  }

  get root(): string {
    return join(this.workspace, 'datasets');
  }

  list(): DatasetJob[] {
    return [...this.jobs.values()].map((l) => l.job).sort((a, b) => b.started.localeCompare(a.started));
  }

  /** Checks the request (so a bad one fails at once, with its code) and starts the child. */
  start(spec: PrepareSpec): DatasetJob {
    if (this.closed) throw new UserError('the backend is closing', { code: 'USER_ERROR' });
    const final = join(this.root, spec.name);
    if (existsSync(final)) throw new UserError(`a dataset named ${spec.name} exists already; pick another name`, { code: 'FILE_EXISTS', data: { name: spec.name } });
    for (const l of this.jobs.values()) {
      if (l.job.name === spec.name && !l.terminal) throw new UserError(`dataset ${spec.name} is being prepared already`, { code: 'QUEUE_CONFLICT', data: { name: spec.name } });
    }
    const train = resolveTextPath(this.workspace, spec.train, 'training');
    const valid = spec.valid ? resolveTextPath(this.workspace, spec.valid, 'validation') : undefined;
    if (valid && spec.validFraction !== undefined) throw new UserError('give either a validation text or a fraction of the training text to hold out, not both', { code: 'INVALID_ARGUMENT', data: {} });
    const args = [
      'dataset', 'prepare', '--events', 'ndjson', '--train', train, ...(valid ? ['--valid', valid] : []),
      ...(spec.validFraction !== undefined ? ['--valid-fraction', String(spec.validFraction)] : []), '--invalid-utf8', spec.invalidUtf8,
    ];
    const t = spec.tokenizer;
    if (t.kind === 'train') {
      checkDatasetVocabSize(t.vocabSize, t.specials);
      args.push('--vocab-size', String(t.vocabSize), ...t.specials.flatMap((s) => ['--special', s]));
    } else if (t.kind === 'bytes') {
      args.push('--byte-level', ...t.specials.flatMap((s) => ['--special', s]));
    } else {
      const from = join(this.root, t.name);
      if (!existsSync(join(from, 'dataset.json'))) throw new UserError(`there is no prepared dataset ${t.name} to take the tokenizer from`, { code: 'FILE_NOT_FOUND', data: { name: t.name } });
      args.push('--tokenizer-from', from);
    }
    const staging = join(this.root, STAGING, spec.name);
    mkdirSync(join(this.root, STAGING), { recursive: true });
    args.push('--out', staging);
    // Steps an earlier, cancelled attempt finished are reused (prepare compares sha256s); a validation split it
    // had and this request has not must not ride along into the new dataset.
    if (!valid && spec.validFraction === undefined) for (const f of ['valid.bin', 'valid.bin.json', join('raw', 'valid.txt')]) rmSync(join(staging, f), { force: true });
    const id = `${spec.name}-${randomBytes(4).toString('hex')}`;
    const env = { ...process.env, LMWB_HOME: this.workspace, ...(process.versions.electron ? { ELECTRON_RUN_AS_NODE: '1' } : {}) };
    const child = spawn(process.execPath, [lmwbBin(), ...args], { cwd: this.workspace, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const job: DatasetJob = {
      id,
      name: spec.name,
      state: 'running',
      train,
      valid: valid ?? null,
      validFraction: spec.validFraction ?? null,
      tokenizer: t,
      phases: [],
      progress: null,
      started: new Date().toISOString(),
      ended: null,
      error: null,
    };
    let resolveExit!: () => void;
    const live: Live = { job, child, rateFrom: null, stderr: '', terminal: false, exited: new Promise((r) => (resolveExit = r)) };
    this.jobs.set(id, live);
    let buf = '';
    child.stdout?.on('data', (b: Buffer) => {
      buf += b.toString('utf8');
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (!line) continue;
        let e: PrepareStreamEvent;
        try {
          e = JSON.parse(line) as PrepareStreamEvent;
        } catch {
          continue; // not an event (stdout carries only events; be tolerant anyway)
        }
        this.apply(live, e);
      }
    });
    child.stderr?.on('data', (b: Buffer) => {
      live.stderr = (live.stderr + b.toString('utf8')).slice(-4000);
    });
    child.on('error', (err) => {
      if (!live.job.error) live.job.error = { code: 'WORKER_DIED', message: `could not start the preparation: ${err.message}` };
      // A child that never started emits no 'exit': end the job here.
      if (child.pid === undefined) {
        this.finish(live, null, null);
        resolveExit();
      }
    });
    child.on('exit', (code, signal) => {
      clearTimeout(live.killTimer);
      this.finish(live, code, signal);
      resolveExit();
    });
    this.mark(id);
    return job;
  }

  /** Asks a running job to stop (SIGTERM: the child aborts cleanly; killed if it has not stopped after a while). */
  cancel(id: string): DatasetJob {
    const live = this.jobs.get(id);
    if (!live) throw new UserError(`no dataset preparation ${id}`, { code: 'INVALID_ARGUMENT', data: { id } });
    if (live.terminal || live.job.state === 'cancelling') return live.job;
    live.job.state = 'cancelling';
    live.child.kill('SIGTERM');
    live.killTimer = setTimeout(() => live.child.kill('SIGKILL'), KILL_AFTER_MS);
    live.killTimer.unref();
    this.mark(id);
    return live.job;
  }

  /** Removes the staging folder a cancelled or failed preparation left (refused while one of that name runs). */
  discard(name: string): boolean {
    for (const l of this.jobs.values()) {
      if (l.job.name === name && !l.terminal) throw new UserError(`dataset ${name} is being prepared; cancel it first`, { code: 'QUEUE_CONFLICT', data: { name } });
    }
    const staging = join(this.root, STAGING, name);
    if (!existsSync(staging)) return false;
    rmSync(staging, { recursive: true, force: true });
    return true;
  }

  /** Resolves when a job's child has exited (tests, close). */
  async settled(id: string): Promise<DatasetJob> {
    const live = this.jobs.get(id);
    if (!live) throw new UserError(`no dataset preparation ${id}`, { code: 'INVALID_ARGUMENT', data: { id } });
    await live.exited;
    return live.job;
  }

  private apply(live: Live, e: PrepareStreamEvent): void {
    const job = live.job;
    const now = performance.now();
    switch (e.type) {
      case 'phase': {
        const i = job.phases.findIndex((p) => p.task === e.task);
        const entry = { task: e.task, status: e.status, ...(e.detail ? { detail: e.detail } : {}) };
        if (i >= 0) job.phases[i] = entry;
        else job.phases.push(entry);
        if (e.status !== 'start') job.progress = null;
        break;
      }
      case 'progress': {
        const task = `${e.task}${e.detail ? ` ${e.detail}` : ''}`;
        if (!live.rateFrom || live.rateFrom.task !== task || e.done < live.rateFrom.done) live.rateFrom = { task, t: now, done: e.done };
        const dt = (now - live.rateFrom.t) / 1000;
        const rate = dt > 0.2 ? (e.done - live.rateFrom.done) / dt : null;
        const etaS = rate && rate > 0 && e.total !== undefined ? Math.max(0, (e.total - e.done) / rate) : null;
        job.progress = { task: e.task, ...(e.detail ? { detail: e.detail } : {}), done: e.done, ...(e.total !== undefined ? { total: e.total } : {}), unit: e.unit, rate, etaS, ...(e.extra ? { extra: e.extra } : {}) };
        break;
      }
      case 'warning':
        break;
      case 'done':
        live.terminal = true;
        this.publish(live);
        break;
      case 'error':
        if (!job.error) job.error = { code: e.error.code, message: e.error.message };
        break;
    }
    this.mark(job.id);
  }

  /** A `done` event: move the staging folder into place (the dataset appears whole). */
  private publish(live: Live): void {
    const job = live.job;
    const staging = join(this.root, STAGING, job.name);
    const final = join(this.root, job.name);
    try {
      if (existsSync(final)) throw new UserError(`a dataset named ${job.name} appeared while this one was prepared; it is kept in ${staging}`, { code: 'FILE_EXISTS', data: { name: job.name } });
      renameSync(staging, final);
      job.state = 'done';
    } catch (err) {
      job.state = 'failed';
      job.error = { code: err instanceof UserError ? err.code : 'FILE_NOT_WRITABLE', message: (err as Error).message };
    }
    job.progress = null;
    job.ended = new Date().toISOString();
  }

  private finish(live: Live, code: number | null, signal: NodeJS.Signals | null): void {
    const job = live.job;
    if (job.state === 'done' || (live.terminal && job.state === 'failed')) return this.mark(job.id);
    live.terminal = true;
    const cancelled = job.state === 'cancelling' || job.error?.code === 'ABORTED';
    job.state = cancelled ? 'cancelled' : 'failed';
    if (cancelled) {
      job.error = { code: 'ABORTED', message: 'cancelled: nothing half-written was left; the steps that finished are kept, so preparing the same name from the same files again continues from them' };
    } else if (!job.error) {
      const last = live.stderr.trim().split('\n').filter((l) => l.trim()).pop();
      job.error = { code: 'WORKER_DIED', message: `the preparation stopped (${signal ?? `exit code ${code}`})${last ? `: ${last}` : ''}` };
    }
    // A child that was killed had no chance to remove its temporary files: they are garbage now.
    if (signal === 'SIGKILL') removeTemporaries(join(this.root, STAGING, job.name));
    job.progress = null;
    job.ended = new Date().toISOString();
    this.mark(job.id);
  }

  private mark(id: string): void {
    this.dirty.add(id);
    if (this.timer) return;
    const wait = Math.max(0, this.lastFlush + this.flushMs - Date.now());
    this.timer = setTimeout(() => this.flush(), wait);
  }

  private flush(): void {
    this.timer = undefined;
    this.lastFlush = Date.now();
    const jobs = [...this.dirty].map((id) => this.jobs.get(id)?.job).filter((j): j is DatasetJob => !!j);
    this.dirty.clear();
    if (jobs.length) this.onUpdate(structuredClone(jobs));
  }

  /** Cancels every running job and waits for the children to exit. */
  async close(): Promise<void> {
    this.closed = true;
    const running = [...this.jobs.values()].filter((l) => !l.terminal);
    for (const l of running) this.cancel(l.job.id);
    await Promise.all(running.map((l) => l.exited));
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}

/** Removes the `.name.tmp-…` files a killed child left in a folder (and its subfolders). */
function removeTemporaries(dir: string): void {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const n of names) {
    const p = join(dir, n);
    if (/\.tmp-/.test(n)) rmSync(p, { force: true, recursive: true });
    else {
      try {
        if (statSync(p).isDirectory()) removeTemporaries(p);
      } catch {
        /* vanished */
      }
    }
  }
}
