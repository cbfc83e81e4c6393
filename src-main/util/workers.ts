/**
 * The one place that knows where worker-thread modules live and how to start them. Each worker is its own module
 * (`*.worker.ts`), built by `npm run bundle` into `<name>.worker.mjs` beside the bundle that starts it (dist/). A
 * worker is started from, in order: the folder set by `setWorkersDir` / LMWB_WORKERS_DIR (an Electron build points
 * this at its own output), the built file beside this module (inside a bundle), or the TypeScript source through
 * tsx's loader (running from source: tsx, vitest). Every worker started here is tracked in util/live-resources as
 * 'worker' until it exits.
 */
import { Worker } from 'node:worker_threads';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { UserError } from './errors';
import { releaseResource, trackResource } from './live-resources';

export type WorkerName = 'tokenizer' | 'batch-loader' | 'checkpoint-writer';

/** Source modules of the workers, relative to the repository root (scripts/bundle.ts builds one entry each). */
export const WORKER_SOURCES: Record<WorkerName, string> = {
  tokenizer: 'src-main/tokenizer/tokenizer.worker.ts',
  'batch-loader': 'src-main/engine/data/batch-loader.worker.ts',
  'checkpoint-writer': 'src-main/engine/checkpoint/checkpoint-writer.worker.ts',
};

/** The file name a built worker has (`npm run bundle` writes it beside dist/lmwb.mjs). */
export function builtWorkerFile(name: WorkerName): string {
  return `${name}.worker.mjs`;
}

let workersDir: string | undefined;

/** Makes workers start from `dir/<name>.worker.mjs` (for hosts with their own build output); undefined resets. */
export function setWorkersDir(dir: string | undefined): void {
  workersDir = dir;
}

export type ResolvedWorker = { kind: 'built'; url: URL } | { kind: 'source'; url: URL };

/** Where worker `name` will start from, or undefined when neither a built file nor its source is there. */
export function resolveWorker(name: WorkerName): ResolvedWorker | undefined {
  const dir = workersDir ?? process.env.LMWB_WORKERS_DIR;
  if (dir) {
    const f = join(dir, builtWorkerFile(name));
    if (existsSync(f)) return { kind: 'built', url: pathToFileURL(f) };
  }
  const beside = new URL(`./${builtWorkerFile(name)}`, import.meta.url);
  if (existsSync(fileURLToPath(beside))) return { kind: 'built', url: beside };
  // From source this module is src-main/util/workers.ts; the sources are named from the repository root.
  const source = new URL(`../../${WORKER_SOURCES[name]}`, import.meta.url);
  if (existsSync(fileURLToPath(source))) return { kind: 'source', url: source };
  return undefined;
}

export function workerAvailable(name: WorkerName): boolean {
  return resolveWorker(name) !== undefined;
}

/** Registers tsx in the new thread, then imports the TypeScript module named by its last argv entry. */
const TSX_BOOTSTRAP = new URL('./tsx-worker.mjs', import.meta.url);

/**
 * Starts worker `name` with `workerData`, tracked as a live 'worker' resource until it exits. Throws UserError
 * FILE_NOT_FOUND when the worker's module cannot be found (check `workerAvailable` to fall back instead).
 */
export function startWorker(name: WorkerName, workerData: unknown): Worker {
  const r = resolveWorker(name);
  if (!r) {
    throw new UserError(`the ${name} worker module is missing (no ${builtWorkerFile(name)} beside the program and no ${WORKER_SOURCES[name]}); rebuild or reinstall LM Workbench`, {
      code: 'FILE_NOT_FOUND',
      data: { worker: name, file: builtWorkerFile(name) },
    });
  }
  const worker = r.kind === 'built'
    ? new Worker(r.url, { workerData })
    : new Worker(TSX_BOOTSTRAP, { workerData, argv: [r.url.href] });
  trackResource('worker', worker);
  worker.once('exit', () => releaseResource('worker', worker));
  return worker;
}
