/**
 * Where queued runs train: a backend offers slots (one trainer each) and launches a trainer process for a run
 * folder. The local backend has one slot and spawns `lmwb train --run-dir DIR --events ndjson` as a child
 * process, so a native crash in Dawn (an abort, out of memory) takes down that child, never the worker. A later
 * backend adds one slot per GPU (the same child with the GPU chosen) or Slurm (a job per run, `slurm:<jobid>`).
 */
import { spawn } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TrainEvent } from '../engine/train/events';
import { STORE_FILES } from './store';

/** How a trainer process ended. */
export interface TrainerExit {
  /** Exit status, or null when killed by a signal. */
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The last lines the trainer wrote on stderr (for the error a failed run records). */
  stderrTail: string;
}

export interface TrainerProcess {
  /** OS pid on this host (undefined for remote backends). */
  pid?: number;
  /** Backend-specific reference, recorded in status.json as `backend` ("local", "local:gpu1", "slurm:123"). */
  ref: string;
  exited: Promise<TrainerExit>;
  /** Ask it to checkpoint and stop (SIGTERM). */
  stop(): void;
  /** End it now (SIGKILL). */
  kill(): void;
}

export interface LaunchOptions {
  /** Each TrainEvent the trainer reports (one ndjson line each). */
  onEvent?: (e: TrainEvent) => void;
  /** Lines on the trainer's stdout that are not events (printed output of older trainers). */
  onOutput?: (line: string) => void;
}

export interface Slot {
  /** "local", "local:gpu0", … */
  name: string;
  launch(runDir: string, o: LaunchOptions): TrainerProcess;
}

export interface Backend {
  name: string;
  slots(): Slot[];
}

export interface LocalBackendOptions {
  /**
   * The command that starts the `lmwb` CLI: [executable, ...args]. Default: this process's own node, its exec
   * arguments (a TypeScript loader) and its entry script, so the worker starts the same lmwb it is.
   */
  command?: string[];
  env?: NodeJS.ProcessEnv;
  /** Working folder of the trainer (the workspace). */
  cwd: string;
  /** GPU indices (gpu/select.ts): one slot per GPU, "local:gpuN", whose trainers get LMWB_GPU=N. */
  gpus?: number[];
}

const STDERR_TAIL = 4000;

/** One trainer at a time on this machine's GPU. */
export class LocalBackend implements Backend {
  readonly name = 'local';
  constructor(private readonly o: LocalBackendOptions) {}

  slots(): Slot[] {
    if (this.o.gpus?.length) return this.o.gpus.map((g) => ({ name: `local:gpu${g}`, launch: (dir, lo) => this.launch(dir, lo, g) }));
    return [{ name: 'local', launch: (dir, lo) => this.launch(dir, lo) }];
  }

  private launch(runDir: string, lo: LaunchOptions, gpu?: number): TrainerProcess {
    const cmd = this.o.command ?? [process.execPath, ...process.execArgv, process.argv[1]];
    const child = spawn(cmd[0], [...cmd.slice(1), 'train', '--run-dir', runDir, '--events', 'ndjson'], {
      cwd: this.o.cwd,
      env: gpu === undefined ? (this.o.env ?? process.env) : { ...(this.o.env ?? process.env), LMWB_GPU: String(gpu) },
      stdio: ['ignore', 'pipe', 'pipe'],
      // Its own process group: a Ctrl-C in the worker's terminal reaches the worker only, which then stops the
      // trainer with one SIGTERM (a second signal would make the trainer quit without its checkpoint).
      detached: true,
    });
    const logPath = join(runDir, STORE_FILES.trainerLog);
    const log = (text: string) => {
      try {
        appendFileSync(logPath, text);
      } catch {
        /* the log is a convenience */
      }
    };
    log(`\n--- ${new Date().toISOString()} trainer pid ${child.pid ?? '?'} started by worker ${process.pid}\n`);
    let tail = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      log(chunk);
      tail = (tail + chunk).slice(-STDERR_TAIL);
    });
    let buf = '';
    child.stdout.setEncoding('utf8');
    const onLine = (line: string) => {
      if (!line.trim()) return;
      let ev: unknown;
      try {
        ev = JSON.parse(line);
      } catch {
        lo.onOutput?.(line);
        return;
      }
      if (ev && typeof ev === 'object' && typeof (ev as { type?: unknown }).type === 'string') lo.onEvent?.(ev as TrainEvent);
      else lo.onOutput?.(line);
    };
    child.stdout.on('data', (chunk: string) => {
      buf += chunk;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        onLine(buf.slice(0, nl));
        buf = buf.slice(nl + 1);
      }
    });
    const exited = new Promise<TrainerExit>((resolveExit) => {
      let spawnError: Error | undefined;
      child.on('error', (e) => {
        spawnError = e;
      });
      child.on('close', (code, signal) => {
        if (buf) onLine(buf);
        const stderrTail = spawnError ? `${tail}\ncannot start the trainer: ${spawnError.message}` : tail;
        log(`--- ${new Date().toISOString()} trainer exited: ${signal ? `signal ${signal}` : `code ${code}`}\n`);
        resolveExit({ code: spawnError && code === null && !signal ? 127 : code, signal, stderrTail });
      });
    });
    const signalChild = (sig: NodeJS.Signals) => {
      if (child.exitCode === null && child.signalCode === null) child.kill(sig);
    };
    return { pid: child.pid, ref: gpu === undefined ? 'local' : `local:gpu${gpu}`, exited, stop: () => signalChild('SIGTERM'), kill: () => signalChild('SIGKILL') };
  }
}
