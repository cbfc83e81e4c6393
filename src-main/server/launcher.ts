/**
 * Starts training runs from the backend: creates the run folder `<workspace>/runs/<id>/` (config.json, meta.json,
 * status.json) and trains it in a child `lmwb train` process, one run at a time (later ones wait as `queued`).
 * The GPU never runs in this process (which may be the Electron main process). This is the app's own small
 * launcher for the one-click runs; the workspace queue (`lmwb queue`) supersedes it where present.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeFileAtomic } from '../util/atomic-write';
import { UserError } from '../util/errors';
import { RUN_FILES, type RunMeta } from '../runs/format';
import { runDir } from '../runs/read';
import { updateStatus } from '../runs/status';
import { applyOverrides, parseRunConfig, RunConfigSchema } from '../engine/train/run-config';
import { preset } from '../engine/train/presets';

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
  throw new UserError('cannot find bin/lmwb.mjs to start a trainer', { code: 'FILE_NOT_FOUND' });
}

function timestamp(d = new Date()): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getUTCFullYear()}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}-${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}`;
}

export class Launcher {
  private waiting: string[] = [];
  private running: { id: string; child: ChildProcess; stopping: boolean } | undefined;
  private closed = false;

  constructor(readonly workspace: string, private readonly onChange: (id: string) => void = () => {}) {}

  /** Creates the run folder and queues it; returns the new run's id. */
  start(req: StartRequest): string {
    const base = preset(req.preset, join(this.workspace, 'datasets')) as Record<string, unknown>;
    const name = req.name ?? String(base.name);
    let id = `${name}-${timestamp()}`;
    for (let n = 2; existsSync(runDir(this.workspace, id)); n++) id = `${name}-${timestamp()}-${n}`;
    const dir = runDir(this.workspace, id);
    const raw = applyOverrides({ ...base, name, out_dir: dir }, req.set);
    const parsed = parseRunConfig(raw); // the trainer's own checks (steps, learning rates): a bad override fails here, not later
    const config = RunConfigSchema.parse(raw);
    mkdirSync(dir, { recursive: true });
    const meta: RunMeta = { name, tags: [], notes: '' };
    writeFileAtomic(join(dir, RUN_FILES.meta), `${JSON.stringify(meta, null, 2)}\n`);
    updateStatus(dir, { state: 'queued', total_steps: parsed.steps });
    writeFileAtomic(join(dir, RUN_FILES.config), `${JSON.stringify(config, null, 2)}\n`);
    this.waiting.push(id);
    this.onChange(id);
    this.next();
    return id;
  }

  /** Stops a run this launcher owns: a queued one is cancelled, a running one checkpoints and stops (SIGTERM). */
  stop(id: string): boolean {
    const i = this.waiting.indexOf(id);
    if (i >= 0) {
      this.waiting.splice(i, 1);
      updateStatus(runDir(this.workspace, id), { state: 'cancelled', ended: new Date().toISOString() });
      this.onChange(id);
      return true;
    }
    if (this.running?.id === id) {
      this.running.stopping = true;
      this.running.child.kill('SIGTERM');
      return true;
    }
    return false;
  }

  isActive(id: string): boolean {
    return this.running?.id === id || this.waiting.includes(id);
  }

  /** Stops the running trainer (it checkpoints) and forgets the waiting ones; resolves when the child exited. */
  async close(): Promise<void> {
    this.closed = true;
    for (const id of this.waiting.splice(0)) updateStatus(runDir(this.workspace, id), { state: 'cancelled' });
    const r = this.running;
    if (!r) return;
    r.stopping = true;
    await new Promise<void>((resolve) => {
      r.child.once('exit', () => resolve());
      r.child.kill('SIGTERM');
    });
  }

  private next(): void {
    if (this.running || this.closed) return;
    const id = this.waiting.shift();
    if (!id) return;
    const dir = runDir(this.workspace, id);
    // Inside Electron, process.execPath is the Electron binary: run it as plain Node for the trainer.
    const env = { ...process.env, ...(process.versions.electron ? { ELECTRON_RUN_AS_NODE: '1' } : {}) };
    const child = spawn(process.execPath, [lmwbBin(), 'train', '--config', join(dir, RUN_FILES.config)], {
      cwd: this.workspace,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.running = { id, child, stopping: false };
    let tail = '';
    const keep = (b: Buffer) => {
      tail = (tail + b.toString('utf8')).slice(-4000);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    const now = new Date().toISOString();
    updateStatus(dir, (s) => ({ state: 'running', pid: child.pid, host: hostname(), backend: 'local', started: s.started ?? now, attempts: s.attempts + 1 }));
    this.onChange(id);
    child.on('exit', (code, signal) => {
      const stopping = this.running?.stopping ?? false;
      this.running = undefined;
      const lastLine = tail.trim().split('\n').filter((l) => l.trim()).pop() ?? '';
      const ended = new Date().toISOString();
      try {
        if (code === 0) updateStatus(dir, { state: stopping ? 'paused' : 'done', ended, pid: undefined });
        else if (code === 4) updateStatus(dir, { state: 'diverged', ended, pid: undefined });
        else
          updateStatus(dir, {
            state: 'failed',
            ended,
            pid: undefined,
            error: { code: 'WORKER_DIED', message: lastLine || `trainer exited with ${signal ?? `code ${code}`}` },
          });
      } catch {
        /* the run folder was removed meanwhile */
      }
      this.onChange(id);
      this.next();
    });
  }
}
