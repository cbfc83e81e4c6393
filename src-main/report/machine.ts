/** The machine and engine version a report names (node only). */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { cpus, platform, release, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** "Linux 6.1 x64, 2 × AMD EPYC …, 24 GB RAM, Node 20.20.2". */
export function describeMachine(): string {
  const c = cpus();
  const model = c[0]?.model.trim().replace(/\s+/g, ' ') ?? 'unknown CPU';
  return `${platform()} ${release()} ${process.arch}, ${c.length} × ${model}, ${Math.round(totalmem() / 2 ** 30)} GB RAM, Node ${process.versions.node}`;
}

/** "0.1.0 (git 1a2b3c4)" from the package.json above this module and, in a checkout, its commit. */
export function engineVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 8; i++) {
    const p = join(dir, 'package.json');
    if (existsSync(p)) {
      try {
        const pkg = JSON.parse(readFileSync(p, 'utf8')) as { name?: string; version?: string };
        if (pkg.name === 'lm-workbench') {
          let commit = '';
          if (existsSync(join(dir, '.git'))) {
            try {
              commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
            } catch {
              commit = '';
            }
          }
          return `${pkg.version ?? '?'}${commit ? ` (git ${commit})` : ''}`;
        }
      } catch {
        // not ours; keep walking
      }
    }
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  return 'unknown version';
}
