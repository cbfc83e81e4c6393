// Shared by the tokenizer benchmarks: machine description, fixtures, child-process timing.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';

export const repoRoot = resolve(fileURLToPath(new URL('../..', import.meta.url)));
export const shared = resolve(repoRoot, '..', 'shared');
/** The CLI the benchmarks time: from source (bin/lmwb.mjs), or LMWB_BENCH_CLI=dist/lmwb.mjs for the bundle. */
export const lmwb = process.env.LMWB_BENCH_CLI ? resolve(process.env.LMWB_BENCH_CLI) : join(repoRoot, 'bin', 'lmwb.mjs');

export function machine(): string {
  let model = cpus()[0]?.model ?? 'unknown CPU';
  try {
    const m = /model name\s*:\s*(.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (m) model = m[1].trim();
  } catch { /* not Linux */ }
  const nproc = execFileSync('nproc').toString().trim();
  return `nproc=${nproc}, ${model}`;
}

export function commit(): string {
  try {
    const c = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: repoRoot }).toString().trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: repoRoot }).toString().trim() !== '';
    return dirty ? `${c}+dirty` : c;
  } catch {
    return 'unknown';
  }
}

export function header(): string {
  const la = loadavg().map((x) => x.toFixed(2)).join(' ');
  return `${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC | ${machine()} | commit ${commit()} | load avg at start ${la}`;
}

export function need(path: string): string {
  if (!existsSync(path)) {
    console.error(`benchmark fixture missing: ${path} (the shared fixtures belong beside the repository as ../shared)`);
    process.exit(1);
  }
  return path;
}

/** The 16 MB web text, decompressed once into the temp folder. */
export function webtext(): string {
  const out = join(tmpdir(), 'lmwb-bench-imdb_reviews_16mb.txt');
  if (!existsSync(out)) writeFileSync(out, gunzipSync(readFileSync(need(join(shared, 'data', 'webtext', 'imdb_reviews_16mb.txt.gz')))));
  return out;
}

/** Runs a command; wall seconds, the child's peak RSS in MB and its CPU seconds (user + sys), via GNU time when present. */
export function timed(cmd: string, args: string[]): { seconds: number; peakMB?: number; cpuSeconds?: number; stdout: string; stderr: string } {
  const haveTime = existsSync('/usr/bin/time');
  const t0 = performance.now();
  const r = haveTime
    ? spawnSync('/usr/bin/time', ['-f', 'PEAK_KB=%M CPU=%U+%S', cmd, ...args], { encoding: 'utf8', maxBuffer: 1 << 28 })
    : spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 1 << 28 });
  const seconds = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr}`);
  const m = /PEAK_KB=(\d+)/.exec(r.stderr);
  const c = /CPU=([\d.]+)\+([\d.]+)/.exec(r.stderr);
  return { seconds, peakMB: m ? Number(m[1]) / 1024 : undefined, cpuSeconds: c ? Number(c[1]) + Number(c[2]) : undefined, stdout: r.stdout, stderr: r.stderr };
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

export function havePythonRegex(): boolean {
  return spawnSync('python3', ['-c', 'import regex'], { encoding: 'utf8' }).status === 0;
}
