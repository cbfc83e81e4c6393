// Shared test helpers: where ../shared is, a temp folder per test, and one GPU device per test file.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openGpu, type Gpu } from '../src-main/engine/gpu/device';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const sharedDir = resolve(repoRoot, '..', 'shared');
export const hasShared = existsSync(join(sharedDir, 'reference', 'README.md'));

export function skipNoteIfNoShared(what: string): void {
  if (!hasShared) console.warn(`SKIP ${what}: ${sharedDir} is absent (the project's shared fixtures live beside the checkout)`);
}

export function tempDir(prefix = 'lmwb-test-'): { path: string; cleanup: () => void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, cleanup: () => rmSync(path, { recursive: true, force: true }) };
}

let gpuPromise: Promise<Gpu> | undefined;
export function testGpu(): Promise<Gpu> {
  gpuPromise ??= openGpu();
  return gpuPromise;
}
