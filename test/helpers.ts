// Shared test helpers: where ../shared is (and what a test needs from it: helpers/requirements.ts), a temp folder
// per test, and one GPU device per test file.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openGpu, type Gpu } from '../src-main/engine/gpu/device';

export { needShared, repoRoot, sharedDir } from './helpers/requirements';

export function tempDir(prefix = 'lmwb-test-'): { path: string; cleanup: () => void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, cleanup: () => rmSync(path, { recursive: true, force: true }) };
}

let gpuPromise: Promise<Gpu> | undefined;
export function testGpu(): Promise<Gpu> {
  gpuPromise ??= openGpu();
  return gpuPromise;
}
