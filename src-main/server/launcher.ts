/**
 * Starts training runs from the backend through the workspace queue: a run is created queued (runs/store.ts:
 * config.json, meta.json, status.json) and a queue worker — `lmwb queue work --until-empty`, a child process that
 * supervises its own trainer children, restarts crashed ones and records restarts — is started when none of ours
 * is running. The GPU never runs in this process (which may be the Electron main process). Stop = the queue's
 * pause request: the trainer checkpoints and the run can be resumed bit for bit.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UserError } from '../util/errors';
import type { RunState } from '../runs/format';
import { createRun } from '../runs/store';
import { resolveRunConfig } from '../runs/configs';
import { basePreset } from '../runs/sweep-presets';
import { queuedRuns, requestStop, requeue } from '../runs/queue';

export interface StartRequest {
  preset: 'smoke';
  set: string[];
  name?: string;
}

/** The `lmwb` launcher script (bin/lmwb.mjs), found upwards from this module (source tree or built app). */
export function lmwbBin(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const p = join(dir, 'bin', 'lmwb.mjs');
    if (existsSync(p)) return p;
    dir = dirname(dir);
  }
  throw new UserError('cannot find bin/lmwb.mjs to start a queue worker', { code: 'FILE_NOT_FOUND' });
}

export class Launcher {
  private worker: ChildProcess | undefined;
  private closed = false;
  /** The worker's last output lines (shown when it fails). */
  private tail = '';

  constructor(readonly workspace: string, private readonly onChange: (id: string) => void = () => {}, private readonly onWorkerError: (message: string) => void = () => {}) {}

  /** Queues a run from a preset with overrides (validated by the trainer's schema) and makes sure a worker runs. */
  start(req: StartRequest): string {
    const base = basePreset(req.preset, this.workspace);
    const config = resolveRunConfig(base, { sets: req.set, name: req.name, baseDir: this.workspace });
    const { id } = createRun(this.workspace, { config, meta: req.name ? { name: req.name } : undefined });
    this.onChange(id);
    this.ensureWorker();
    return id;
  }

  /** Runs queued by another part of the backend (the new-run form, sweeps): push their rows and make sure a worker runs. */
  queued(ids: string[]): void {
    for (const id of ids) this.onChange(id);
    this.ensureWorker();
  }

  /** Pauses a queued or running run (a running trainer checkpoints first). */
  async stop(id: string): Promise<RunState> {
    const r = await requestStop(this.workspace, id, 'pause');
    this.onChange(id);
    return r.state;
  }

  /** Queues a paused, cancelled or failed run again and makes sure a worker runs. */
  async resume(id: string): Promise<RunState> {
    const s = await requeue(this.workspace, id);
    this.onChange(id);
    this.ensureWorker();
    return s.state;
  }

  get workerRunning(): boolean {
    return this.worker !== undefined;
  }

  private ensureWorker(): void {
    if (this.worker || this.closed) return;
    // Inside Electron, process.execPath is the Electron binary: run it as plain Node for the worker.
    const env = { ...process.env, ...(process.versions.electron ? { ELECTRON_RUN_AS_NODE: '1' } : {}) };
    const child = spawn(process.execPath, [lmwbBin(), 'queue', 'work', '--until-empty', '--workspace', this.workspace], {
      cwd: this.workspace,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.worker = child;
    const keep = (b: Buffer) => {
      this.tail = (this.tail + b.toString('utf8')).slice(-4000);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    child.on('exit', (code, signal) => {
      this.worker = undefined;
      if (this.closed) return;
      if (code !== 0) {
        const last = this.tail.trim().split('\n').filter((l) => l.trim()).pop();
        this.onWorkerError(`the queue worker stopped (${signal ?? `exit code ${code}`})${last ? `: ${last}` : ''}`);
        return;
      }
      // A run queued just as the worker found the queue empty: start another.
      if (queuedRuns(this.workspace).length) this.ensureWorker();
    });
  }

  /** Stops our worker (its trainers checkpoint; their runs go back to queued for the next worker). */
  async close(): Promise<void> {
    this.closed = true;
    const w = this.worker;
    if (!w) return;
    await new Promise<void>((resolve) => {
      w.once('exit', () => resolve());
      w.kill('SIGTERM');
    });
  }
}
