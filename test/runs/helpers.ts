// Helpers for the run-store tests: the real `lmwb` CLI (sync and as a background process), a tiny byte-level
// token file from the shipped smoke text, tiny run configs, polling a run's status, and checkpoint comparison.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../helpers';
import { readSafetensors } from '../../src-main/engine/checkpoint/safetensors';
import { readStatus } from '../../src-main/runs/read';
import type { RunStatus } from '../../src-main/runs/format';

const CLI = join(repoRoot, 'bin', 'lmwb.mjs');

export function gpuEnv(): NodeJS.ProcessEnv {
  const xdg = process.env.XDG_RUNTIME_DIR ?? '/tmp/xdg-runtime-0';
  mkdirSync(xdg, { recursive: true, mode: 0o700 });
  return { ...process.env, XDG_RUNTIME_DIR: xdg, LMWB_HOME: '' };
}

export interface CliResult {
  code: number | null;
  out: string;
  err: string;
}

export function lmwb(args: string[], cwd: string, timeout = 120_000): CliResult {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd, encoding: 'utf8', env: gpuEnv(), timeout });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** A background `lmwb` process (a queue worker); `done` resolves with its output when it exits. */
export function lmwbBackground(args: string[], cwd: string): { child: ChildProcess; done: Promise<CliResult> } {
  const child = spawn(process.execPath, [CLI, ...args], { cwd, env: gpuEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (c: string) => (out += c));
  child.stderr!.setEncoding('utf8').on('data', (c: string) => (err += c));
  const done = new Promise<CliResult>((resolve) => child.on('close', (code) => resolve({ code, out, err })));
  return { child, done };
}

/** uint16 token ids (bytes of the smoke text): a vocab-256 train file. */
export function tinyTokens(dir: string, bytes = 40_000): string {
  const path = join(dir, 'tok.bin');
  const text = readFileSync(join(repoRoot, 'resources', 'smoke', 'stories.txt')).subarray(0, bytes);
  writeFileSync(path, Buffer.from(Uint16Array.from(text).buffer));
  return path;
}

/** A tiny model config (trains at hundreds of steps per second on llvmpipe). */
export function tinyConfig(tokens: string, over: { steps: number; name?: string; checkpointEvery?: number; logEvery?: number; lr?: number }): Record<string, unknown> {
  return {
    name: over.name ?? 'tiny',
    model: { vocab_size: 256, context_length: 16, d_model: 32, num_layers: 1, num_heads: 2, d_ff: 48 },
    data: { train: tokens, valid: tokens },
    training: { batch_size: 2, max_steps: over.steps, seed: 3, max_learning_rate: over.lr ?? 2e-3, min_learning_rate: (over.lr ?? 2e-3) / 10, warmup_iters: 4 },
    eval: { interval: 50, batches: 2 },
    checkpoint: { interval: over.checkpointEvery ?? 50, keep_last: 0 },
    log: { interval: over.logEvery ?? 2 },
  };
}

export function writeJson(path: string, v: unknown): string {
  writeFileSync(path, JSON.stringify(v, null, 2));
  return path;
}

/** Polls a run's status.json until `pred` holds (or throws after `timeoutMs`). */
export async function waitStatus(dir: string, pred: (s: RunStatus) => boolean, timeoutMs: number, what: string): Promise<RunStatus> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const s = readStatus(dir);
    if (s && pred(s)) return s;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}; status: ${JSON.stringify(s)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Tensor names and raw bytes of a safetensors file (metadata ignored). */
export function tensorBytes(path: string): Map<string, Buffer> {
  const f = readSafetensors(path);
  const out = new Map<string, Buffer>();
  for (const [name, t] of f.tensors) out.set(name, Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength));
  return out;
}

/** Names of tensors whose bytes differ between two checkpoints (or that only one has). */
export function differingTensors(a: string, b: string): string[] {
  const ta = tensorBytes(a);
  const tb = tensorBytes(b);
  const names = new Set([...ta.keys(), ...tb.keys()]);
  return [...names].filter((n) => !ta.has(n) || !tb.has(n) || !ta.get(n)!.equals(tb.get(n)!));
}
