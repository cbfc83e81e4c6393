/**
 * The one resolver for the folders that ship with LM Workbench (kernels/, resources/) and for the workspace.
 * Shipped folders are found from this module's location, walking up (source tree, dist/ bundle, packaged app), or
 * from LMWB_KERNELS_DIR / LMWB_RESOURCES_DIR. The engine never defaults to the current folder: the workspace is
 * passed in by front ends, which take it from --workspace, LMWB_HOME or (CLI only) the current folder.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UserError } from './errors';

const found = new Map<string, string>();

/** Walks up from this file for a folder `name` that contains `probe`. */
function findShipped(name: string, probe: string, envVar: string): string {
  const cached = found.get(name);
  if (cached) return cached;
  const fromEnv = process.env[envVar];
  if (fromEnv) {
    const dir = resolve(fromEnv);
    found.set(name, dir);
    return dir;
  }
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 8; i++) {
    const candidate = join(dir, name);
    if (existsSync(join(candidate, probe))) {
      found.set(name, candidate);
      return candidate;
    }
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  throw new UserError(`cannot find the ${name}/ folder that ships with LM Workbench (looked upwards from ${dirname(fileURLToPath(import.meta.url))}); set ${envVar}`, { code: 'FILE_NOT_FOUND', data: { folder: name, envVar } });
}

/** kernels/: the WGSL sources. */
export function kernelsDir(): string {
  return findShipped('kernels', 'linear.wgsl', 'LMWB_KERNELS_DIR');
}

/** resources/: the smoke text and other shipped data. */
export function resourcesDir(): string {
  return findShipped('resources', join('smoke', 'stories.txt'), 'LMWB_RESOURCES_DIR');
}

/** The workspace a front end should use: an explicit folder, else LMWB_HOME, else `fallback` (the CLI passes cwd). */
export function resolveWorkspace(explicit: string | undefined, fallback: string): string {
  return resolve(explicit ?? process.env.LMWB_HOME ?? fallback);
}
