/**
 * Where Electron's binary is, without triggering its download: the electron package's path.txt and dist/ read
 * directly (requiring the package tries to download a missing binary, which fails on machines like CI).
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);

export function electronBinary(): { path?: string; why?: string } {
  try {
    const pkg = dirname(require.resolve('electron/package.json'));
    if (process.env.ELECTRON_OVERRIDE_DIST_PATH) return { path: join(process.env.ELECTRON_OVERRIDE_DIST_PATH, 'electron') };
    const rel = existsSync(join(pkg, 'path.txt')) ? readFileSync(join(pkg, 'path.txt'), 'utf8').trim() : '';
    const bin = rel ? join(pkg, 'dist', rel) : '';
    if (bin && existsSync(bin)) return { path: bin };
  } catch {
    return { why: 'the electron package is not installed' };
  }
  return { why: "Electron's binary is not installed (its download was skipped or failed)" };
}
