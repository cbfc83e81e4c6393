/**
 * Supervises the generation child process (`lmwb generate-worker`, engine/generate/serve.ts) for the backend: the
 * GPU is opened there, never in this process (which may be Electron's main process). Started on first use; each
 * request is a JSON line with an id, its streamed events are routed back to the request's listener. A request's
 * AbortSignal sends `cancel`; a worker that does not finish a cancelled request within `cancelGraceMs` is killed
 * (and restarted). A worker that dies fails its requests with WORKER_DIED, is restarted at once and the state
 * listener says so; one that keeps dying (3 times within a minute) is left stopped until the next request.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { UserError } from '../util/errors';
import type { PlaygroundStatus, WorkerState } from '../api/areas/playground';
import { parseWorkerEvent, type WireSample, type WireSettings, type WorkerEvent, type WorkerRequest } from '../engine/generate/serve-protocol';
import { lmwbBin } from './launcher';

export interface GenerateRequest {
  checkpoint: string;
  prompt: string;
  settings: WireSettings;
  numSamples: number;
}

export interface GenerationWorkerOptions {
  cwd: string;
  /** The command that starts a worker (default: this lmwb's `generate-worker`). */
  command?: { file: string; args: string[] };
  /** The worker's state changed (started, died and restarted, failed). */
  onStatus?: (s: PlaygroundStatus) => void;
  cancelGraceMs?: number;
  env?: NodeJS.ProcessEnv;
}

interface Pending {
  onEvent: (e: WorkerEvent) => void;
  resolve: (r: { samples: WireSample[]; elapsed_s: number }) => void;
  reject: (e: Error) => void;
  killTimer?: NodeJS.Timeout;
}

export class GenerationWorker {
  private child: ChildProcess | undefined;
  private pending = new Map<string, Pending>();
  private statsWaiters = new Map<string, (e: Extract<WorkerEvent, { type: 'stats' }>) => void>();
  private nextId = 1;
  private state: WorkerState = 'idle';
  private pid: number | null = null;
  private device: string | null = null;
  private restarts = 0;
  private deaths: number[] = [];
  private message: string | null = null;
  private stderrTail = '';
  /** The current child's own last error line (e.g. no GPU driver), reset at each start. */
  private workerError: string | null = null;
  private closed = false;

  constructor(private readonly opts: GenerationWorkerOptions) {}

  status(): PlaygroundStatus {
    return { worker: this.state, pid: this.pid, device: this.device, restarts: this.restarts, message: this.message };
  }

  /** The worker's pid while one runs (tests kill it). */
  get workerPid(): number | null {
    return this.child?.pid ?? null;
  }

  /** Generates; `onEvent` gets every streamed event of this request. Rejects with the worker's coded error. */
  generate(req: GenerateRequest, onEvent: (e: WorkerEvent) => void, signal?: AbortSignal): Promise<{ samples: WireSample[]; elapsed_s: number }> {
    if (this.closed) return Promise.reject(new UserError('the backend is closing', { code: 'ABORTED' }));
    const id = `r${this.nextId++}`;
    return new Promise((resolve, reject) => {
      const p: Pending = { onEvent, resolve, reject };
      this.pending.set(id, p);
      const onAbort = () => {
        if (!this.pending.has(id)) return;
        this.send({ type: 'cancel', id });
        // A worker stuck in a long GPU call gets a grace period, then a restart.
        p.killTimer = setTimeout(() => {
          if (this.pending.has(id)) this.child?.kill('SIGKILL');
        }, this.opts.cancelGraceMs ?? 15_000);
      };
      if (signal?.aborted) onAbort();
      else signal?.addEventListener('abort', onAbort, { once: true });
      this.send({ type: 'generate', id, ...req });
    });
  }

  /** What the worker holds: its cached checkpoints and live GPU buffers. */
  stats(): Promise<Extract<WorkerEvent, { type: 'stats' }>> {
    const id = `s${this.nextId++}`;
    return new Promise((resolve) => {
      this.statsWaiters.set(id, resolve);
      this.send({ type: 'stats', id });
    });
  }

  private send(req: WorkerRequest): void {
    const child = this.ensure();
    child.stdin?.write(`${JSON.stringify(req)}\n`);
  }

  private setStatus(state: WorkerState, message: string | null = this.message): void {
    this.state = state;
    this.message = message;
    this.opts.onStatus?.(this.status());
  }

  private ensure(): ChildProcess {
    if (this.child) return this.child;
    const cmd = this.opts.command ?? { file: process.execPath, args: [lmwbBin(), 'generate-worker'] };
    // Inside Electron, process.execPath is the Electron binary: run it as plain Node for the worker.
    const env = { ...(this.opts.env ?? process.env), ...(process.versions.electron ? { ELECTRON_RUN_AS_NODE: '1' } : {}) };
    const child = spawn(cmd.file, cmd.args, { cwd: this.opts.cwd, env, stdio: ['pipe', 'pipe', 'pipe'] });
    this.child = child;
    this.stderrTail = '';
    this.workerError = null;
    this.setStatus(this.restarts > 0 && this.state !== 'failed' ? 'restarting' : 'starting');
    let buf = '';
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (chunk: string) => {
      buf += chunk;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        const e = parseWorkerEvent(line);
        if (e) this.onEvent(e);
      }
    });
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (s: string) => {
      this.stderrTail = (this.stderrTail + s).slice(-4000);
    });
    child.stdin?.on('error', () => undefined); // a dead worker's pipe; 'exit' handles it
    child.on('error', (err) => this.onExit(child, null, null, err.message));
    child.on('exit', (code, signal) => this.onExit(child, code, signal));
    return child;
  }

  private onEvent(e: WorkerEvent): void {
    if (e.type === 'ready') {
      this.pid = e.pid;
      this.device = e.device;
      this.setStatus('ready', this.restarts ? `the generation worker was restarted (${this.restarts}×)` : null);
      return;
    }
    if (e.type === 'stats') {
      this.statsWaiters.get(e.id)?.(e);
      this.statsWaiters.delete(e.id);
      return;
    }
    if (e.type === 'error' && e.id === null) {
      this.workerError = e.error.message;
      return;
    }
    if (e.id === null) return;
    const p = this.pending.get(e.id);
    if (!p) return;
    if (e.type === 'done') {
      this.finish(e.id);
      p.resolve({ samples: e.samples, elapsed_s: e.elapsed_s });
    } else if (e.type === 'error') {
      this.finish(e.id);
      p.reject(new UserError(e.error.message, { code: e.error.code as UserError['code'] }));
    } else p.onEvent(e);
  }

  private finish(id: string): void {
    const p = this.pending.get(id);
    clearTimeout(p?.killTimer);
    this.pending.delete(id);
  }

  private onExit(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null, spawnError?: string): void {
    if (this.child !== child) return;
    this.child = undefined;
    this.pid = null;
    const last = spawnError ?? this.workerError ?? this.stderrTail.trim().split('\n').filter((l) => l.trim() && !l.startsWith('Warning:')).pop();
    const how = signal ?? `exit code ${code}`;
    const why = `the generation worker stopped (${how})${last ? `: ${last}` : ''}`;
    const failed = [...this.pending.values()];
    this.pending.clear();
    for (const p of failed) {
      clearTimeout(p.killTimer);
      p.reject(new UserError(`${why}; generate again`, { code: 'WORKER_DIED', data: { code, signal } }));
    }
    for (const w of this.statsWaiters.values()) w({ type: 'stats', id: '', loaded: [], gpuBuffers: -1, gpuDevices: -1 });
    this.statsWaiters.clear();
    if (this.closed) {
      this.setStatus('closed', null);
      return;
    }
    const now = Date.now();
    this.deaths = [...this.deaths.filter((t) => now - t < 60_000), now];
    if (this.deaths.length > 3) {
      this.setStatus('failed', `${why}; it keeps stopping, so it is restarted only when you generate again`);
      this.deaths = [];
      return;
    }
    this.restarts++;
    this.message = `${why}; restarted`;
    this.ensure();
  }

  /** Cancels everything and stops the worker (a clean shutdown, then SIGKILL after 5 s). */
  async close(): Promise<void> {
    this.closed = true;
    const child = this.child;
    if (!child) {
      this.setStatus('closed', null);
      return;
    }
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      child.once('exit', () => {
        clearTimeout(t);
        resolve();
      });
      child.stdin?.write(`${JSON.stringify({ type: 'shutdown' } satisfies WorkerRequest)}\n`);
    });
  }
}
