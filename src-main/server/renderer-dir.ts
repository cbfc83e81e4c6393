/**
 * Where the built UI is: out/renderer/ (electron-vite's output), found upwards from this module (source tree or
 * built app), or LMWB_RENDERER_DIR.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export function rendererDir(): string | undefined {
  if (process.env.LMWB_RENDERER_DIR) return resolve(process.env.LMWB_RENDERER_DIR);
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    for (const c of [join(dir, 'out', 'renderer'), join(dir, 'renderer')]) if (existsSync(join(c, 'index.html'))) return c;
    dir = dirname(dir);
  }
  return undefined;
}
