// The trainer's process protocol through the real `lmwb` process: `lmwb train --run-dir DIR --events ndjson` on
// run folders made by createRunFolder. An uninterrupted run is the oracle; kill -9 (after a checkpoint, and before
// any), a torn metrics line, a corrupt newest checkpoint and SIGTERM must all end with final tensors bitwise equal
// to it, train steps strictly increasing with none missing, and elapsed_s never going back. Also: a config that
// fails validation, a diverging lr (exit 4), and a disk that fills up while checkpointing (a small tmpfs).
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot, tempDir } from '../helpers';
import { parseRunConfig, type RunConfigInput } from '../../src-main/engine/train/run-config';
import { createRunFolder } from '../../src-main/engine/train/run-folder';
import { readSafetensors } from '../../src-main/engine/checkpoint/safetensors';
import { verifyCheckpoint } from '../../src-main/engine/checkpoint/checkpoint';
import { readMetrics, readStatus } from '../../src-main/runs/read';
import { updateStatus } from '../../src-main/runs/status';
import type { TrainEvent } from '../../src-main/engine/train/events';
import type { TrainRecord } from '../../src-main/runs/format';

const tmp = tempDir();
const ws = join(tmp.path, 'ws');
let trainFile = '';
const STEPS = 300;

beforeAll(() => {
  const text = readFileSync(join(repoRoot, 'resources', 'smoke', 'stories.txt'));
  trainFile = join(tmp.path, 'train.bin');
  writeFileSync(trainFile, Uint16Array.from(text.subarray(0, 60_000)));
  writeFileSync(join(tmp.path, 'valid.bin'), Uint16Array.from(text.subarray(60_000, 64_000)));
});
afterAll(() => tmp.cleanup());

function config(extra: Record<string, unknown> = {}): RunConfigInput {
  return {
    name: 'proto',
    model: { vocab_size: 256, context_length: 16, d_model: 32, num_layers: 2, num_heads: 2, d_ff: 48 },
    data: { train: trainFile, valid: join(tmp.path, 'valid.bin') },
    training: { batch_size: 2, max_steps: STEPS, seed: 3, max_learning_rate: 3e-3, min_learning_rate: 3e-4, warmup_iters: 10 },
    eval: { interval: 100, batches: 2 },
    checkpoint: { interval: 100, keep_last: 2 },
    log: { interval: 10, diag_interval: 50 },
    ...extra,
  } as RunConfigInput;
}

function newRun(id: string, extra: Record<string, unknown> = {}): string {
  return createRunFolder(ws, parseRunConfig(config(extra)), { id, state: 'queued' }).dir;
}

interface Trainer {
  child: ChildProcess;
  events: TrainEvent[];
  stderr: string;
  /** Resolves when an event matching `pred` has arrived. */
  waitFor(pred: (e: TrainEvent) => boolean): Promise<TrainEvent>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  nonJson: string[];
}

/** Starts `lmwb train --run-dir DIR --events ndjson` (bin/lmwb.mjs runs the CLI in this one process). */
function startTrainer(dir: string, extraArgs: string[] = []): Trainer {
  const child = spawn(process.execPath, [join(repoRoot, 'bin', 'lmwb.mjs'), 'train', '--run-dir', dir, '--events', 'ndjson', ...extraArgs], {
    cwd: tmp.path, env: { ...process.env }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  const events: TrainEvent[] = [];
  const nonJson: string[] = [];
  const waiters: Array<{ pred: (e: TrainEvent) => boolean; resolve: (e: TrainEvent) => void }> = [];
  let buf = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (d: string) => {
    buf += d;
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      let e: TrainEvent;
      try {
        e = JSON.parse(line) as TrainEvent;
      } catch {
        nonJson.push(line);
        continue;
      }
      events.push(e);
      for (const w of [...waiters]) if (w.pred(e)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(e);
      }
    }
  });
  child.stderr!.setEncoding('utf8');
  const t: Trainer = {
    child, events, nonJson,
    get stderr() {
      return stderr;
    },
    waitFor(pred) {
      const hit = events.find(pred);
      if (hit) return Promise.resolve(hit);
      return new Promise((resolve) => waiters.push({ pred, resolve }));
    },
    exited: new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal }))),
  };
  child.stderr!.on('data', (d: string) => {
    stderr += d;
  });
  return t;
}

async function runToEnd(dir: string, extraArgs: string[] = []): Promise<Trainer & { code: number | null }> {
  const t = startTrainer(dir, extraArgs);
  const { code } = await t.exited;
  return Object.assign(t, { code });
}

function finalTensors(dir: string, step = STEPS): Map<string, Buffer> {
  const st = readSafetensors(join(dir, 'checkpoints', `step_${String(step).padStart(7, '0')}.safetensors`));
  return new Map([...st.tensors].map(([k, v]) => [k, Buffer.from(v.data)]));
}

function expectBitwiseEqual(dir: string, oracle: Map<string, Buffer>): void {
  const got = finalTensors(dir);
  expect([...got.keys()]).toEqual([...oracle.keys()]);
  for (const [k, v] of oracle) expect(Buffer.compare(v, got.get(k)!), k).toBe(0);
}

/** The curve checks: train steps strictly increasing and complete at the log interval, elapsed_s never going back. */
function expectCleanCurve(dir: string): TrainRecord[] {
  const m = readMetrics(dir);
  expect(m.tornTail).toBe(false);
  expect(m.skipped).toBe(0);
  const tr = m.records.filter((r): r is TrainRecord => r.kind === 'train');
  expect(tr.map((r) => r.step)).toEqual(Array.from({ length: STEPS / 10 }, (_, i) => (i + 1) * 10));
  for (let i = 1; i < tr.length; i++) {
    expect(tr[i].elapsed_s).toBeGreaterThanOrEqual(tr[i - 1].elapsed_s);
    expect(tr[i].tokens).toBe(tr[i - 1].tokens + 10 * 2 * 16);
  }
  const ev = m.records.filter((r) => r.kind === 'eval').map((r) => r.step);
  expect(ev).toEqual([100, 200, 300]);
  const diag = m.records.filter((r) => r.kind === 'diag').map((r) => r.step);
  expect(diag).toEqual([50, 100, 150, 200, 250, 300]);
  return tr;
}

let oracle: Map<string, Buffer>;

describe('lmwb train --run-dir --events ndjson', () => {
  it('trains a run folder: one JSON event per line on stdout, status.json, metrics, checkpoints (the oracle run)', async () => {
    const dir = newRun('oracle');
    expect(readStatus(dir)?.state).toBe('queued');
    const t = await runToEnd(dir);
    expect(t.code, t.stderr).toBe(0);
    expect(t.nonJson).toEqual([]);
    const types = t.events.map((e) => e.type);
    expect(types[0]).toBe('start');
    expect(types[types.length - 1]).toBe('done');
    const start = t.events[0] as Extract<TrainEvent, { type: 'start' }>;
    expect(start).toMatchObject({ steps: STEPS, start_step: 0, precision: 'f32', precision_reason: 'auto-no-tensor-cores', tokens_per_step: 32, bounds_checks: false });
    expect(start.device.software).toBe(true);
    expect(typeof start.device.name).toBe('string');
    expect(t.events.filter((e) => e.type === 'log').length).toBe(STEPS / 10);
    expect(t.events.filter((e) => e.type === 'checkpoint').map((e) => (e as { step: number }).step)).toEqual([100, 200, 300]);
    const done = t.events[t.events.length - 1] as Extract<TrainEvent, { type: 'done' }>;
    expect(done.state).toBe('done');
    expect(done.final_step).toBe(STEPS);
    // human lines go to stderr
    expect(t.stderr).toMatch(/device: .*precision f32 \(auto: this adapter has no f16 subgroup matrices\)/);
    const s = readStatus(dir)!;
    expect(s).toMatchObject({ state: 'done', total_steps: STEPS, step: STEPS, gpu: start.device.name });
    expect(s.pid).toBeUndefined();
    expect(s.started && s.ended).toBeTruthy();
    expect(s.final_val_loss).toBe(done.final_val_loss);
    expect(s.best_val_loss).toBeLessThanOrEqual(s.final_val_loss!);
    expect(s.final_loss).toBe(done.final_loss);
    // keep_last 2: the step-100 checkpoint was removed
    expect(readdirSync(join(dir, 'checkpoints')).sort()).toEqual(['step_0000200.safetensors', 'step_0000300.safetensors']);
    expectCleanCurve(dir);
    oracle = finalTensors(dir);
  });

  it('kill -9 after a checkpoint, then a torn metrics line: re-running resumes from the newest checkpoint, bit for bit', async () => {
    const dir = newRun('killed');
    const t = startTrainer(dir);
    await t.waitFor((e) => e.type === 'checkpoint' && e.step === 100);
    await t.waitFor((e) => e.type === 'log' && e.record.step >= 130);
    // While it runs, status.json names the trainer process.
    expect(readStatus(dir)).toMatchObject({ state: 'running', pid: t.child.pid });
    t.child.kill('SIGKILL');
    expect((await t.exited).signal).toBe('SIGKILL');
    // What a crash can leave: lines flushed past the newest checkpoint (here one more, as a later flush would have
    // written it), then a torn line from a crash mid-write.
    const lastCkpt = Math.max(...readdirSync(join(dir, 'checkpoints')).filter((f) => f.startsWith('step_')).map((f) => Number(f.slice(5, 12))));
    const extra: TrainRecord = { kind: 'train', step: lastCkpt + 10, tokens: 1, elapsed_s: 1e6, time: new Date().toISOString(), loss: 1, lr: 1, grad_norm: 1, tokens_per_s: 1 };
    appendFileSync(join(dir, 'metrics.jsonl'), `${JSON.stringify(extra)}\n{"kind":"train","step":9`);
    const r = await runToEnd(dir);
    expect(r.code, r.stderr).toBe(0);
    const start = r.events.find((e) => e.type === 'start') as Extract<TrainEvent, { type: 'start' }>;
    const resumedAt = start.start_step;
    expect(resumedAt === 100 || resumedAt === 200).toBe(true);
    expect(start.resumed_from).toMatch(/step_0000(100|200)\.safetensors$/);
    expect(r.events.some((e) => e.type === 'warning' && e.code === 'FILE_INVALID')).toBe(true);
    expect(resumedAt).toBe(lastCkpt);
    expectCleanCurve(dir);
    expectBitwiseEqual(dir, oracle);
    // keep_last 2 counts the first process's checkpoints too: the step-100 one is gone.
    expect(readdirSync(join(dir, 'checkpoints')).filter((f) => f.startsWith('step_')).sort()).toEqual(['step_0000200.safetensors', 'step_0000300.safetensors']);
  });

  it('kill -9 before any checkpoint: re-running starts over with metrics cut, same final bits', async () => {
    const dir = newRun('killed-early');
    const t = startTrainer(dir);
    await t.waitFor((e) => e.type === 'log' && e.record.step >= 20);
    t.child.kill('SIGKILL');
    await t.exited;
    expect(readdirSync(join(dir, 'checkpoints')).filter((f) => f.startsWith('step_'))).toEqual([]);
    const r = await runToEnd(dir);
    expect(r.code, r.stderr).toBe(0);
    expect((r.events[0] as Extract<TrainEvent, { type: 'start' }>).start_step).toBe(0);
    expectCleanCurve(dir);
    expectBitwiseEqual(dir, oracle);
  });

  it('a corrupt newest checkpoint: warned about, moved aside, the one before it used', async () => {
    const dir = newRun('corrupt');
    const t = startTrainer(dir);
    await t.waitFor((e) => e.type === 'checkpoint' && e.step === 200);
    t.child.kill('SIGKILL');
    await t.exited;
    const newest = join(dir, 'checkpoints', 'step_0000200.safetensors');
    const bytes = readFileSync(newest);
    bytes[bytes.length - 100] ^= 0xff; // one flipped byte in the tensor data
    writeFileSync(newest, bytes);
    expect(() => verifyCheckpoint(newest)).toThrow(/sha256/);
    const r = await runToEnd(dir);
    expect(r.code, r.stderr).toBe(0);
    const warn = r.events.find((e) => e.type === 'warning' && e.code === 'CHECKPOINT_CORRUPT') as Extract<TrainEvent, { type: 'warning' }>;
    expect(warn.message).toMatch(/step_0000200\.safetensors is damaged.*resuming from .*step_0000100\.safetensors/);
    expect(r.stderr).toMatch(/warning: checkpoint .*damaged/);
    expect((r.events.find((e) => e.type === 'start') as Extract<TrainEvent, { type: 'start' }>).start_step).toBe(100);
    expect(existsSync(`${newest}.corrupt`)).toBe(true);
    expectCleanCurve(dir);
    expectBitwiseEqual(dir, oracle);
  });

  it('SIGTERM: finishes the step, saves a checkpoint, ends paused (exit 0); re-running continues bit for bit', async () => {
    const dir = newRun('paused');
    const t = startTrainer(dir);
    await t.waitFor((e) => e.type === 'log' && e.record.step >= 120);
    t.child.kill('SIGTERM');
    const ex = await t.exited;
    expect(ex.code, t.stderr).toBe(0);
    const done = t.events[t.events.length - 1] as Extract<TrainEvent, { type: 'done' }>;
    expect(done.state).toBe('paused');
    expect(done.final_step).toBeGreaterThanOrEqual(120);
    expect(done.final_step).toBeLessThan(STEPS);
    expect(done.last_checkpoint).toMatch(new RegExp(`step_${String(done.final_step).padStart(7, '0')}\\.safetensors$`));
    expect(readStatus(dir)).toMatchObject({ state: 'paused', step: done.final_step });
    const r = await runToEnd(dir);
    expect(r.code, r.stderr).toBe(0);
    expect((r.events[0] as Extract<TrainEvent, { type: 'start' }>).start_step).toBe(done.final_step);
    expectCleanCurve(dir);
    expectBitwiseEqual(dir, oracle);
    expect(readStatus(dir)?.state).toBe('done');
  });

  it('a config that fails validation: exit 2, the message names the field and the rule, an error event', async () => {
    const dir = join(ws, 'runs', 'invalid');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...config(), training: { ...config().training, batch_size: 0 } }));
    updateStatus(dir, { state: 'queued' });
    const r = await runToEnd(dir);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/lmwb: invalid run config: config\.training\.batch_size: .*(>0|greater than 0)/i);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(r.events).toEqual([expect.objectContaining({ type: 'error', error: expect.objectContaining({ code: 'CONFIG_INVALID' }) })]);
    expect(readStatus(dir)).toMatchObject({ state: 'failed', error: { code: 'CONFIG_INVALID' } });
  });

  it('a diverging lr: the run stops as diverged with exit code 4, its metrics kept', async () => {
    const dir = newRun('diverged', { training: { ...config().training, max_learning_rate: 50, min_learning_rate: 50, warmup_iters: 0, max_grad_norm: 0 } });
    // (at lr 50 the gradients become NaN within the first logging interval while the reported loss can stay finite)
    const r = await runToEnd(dir);
    expect(r.code, r.stderr).toBe(4);
    const done = r.events.find((e) => e.type === 'done') as Extract<TrainEvent, { type: 'done' }>;
    expect(done.state).toBe('diverged');
    expect(done.final_step).toBeLessThan(STEPS);
    expect(r.events.some((e) => e.type === 'error')).toBe(false);
    expect(r.stderr).toMatch(/lmwb: training diverged: /);
    const s = readStatus(dir)!;
    expect(s.state).toBe('diverged');
    expect(s.error?.code).toBe('DIVERGED');
    const tr = readMetrics(dir).records.filter((x) => x.kind === 'train');
    expect(tr.length).toBeGreaterThan(0);
    expect(tr[tr.length - 1].step).toBe(done.final_step);
  });

  it('disk full while checkpointing: clear message, DISK_FULL, the previous checkpoint intact', async () => {
    const mnt = join(tmp.path, 'small-disk');
    mkdirSync(mnt);
    // One checkpoint of this model is about 410 KiB (params, m and v of 34k floats): 700 KiB holds one, not two.
    const m = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=700k', 'tmpfs', mnt], { encoding: 'utf8' });
    if (m.status !== 0) {
      console.warn(`SKIP disk-full test: cannot mount a tmpfs (${m.stderr.trim()}); it needs root`);
      return;
    }
    try {
      const dir = createRunFolder(mnt, parseRunConfig(config({ checkpoint: { interval: 100, keep_last: 0 } })), { id: 'full' }).dir;
      const r = await runToEnd(dir);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/lmwb: no space left on the disk for checkpoint .*step_0000\d00\.safetensors .*previous checkpoints are intact/);
      const err = r.events.find((e) => e.type === 'error') as Extract<TrainEvent, { type: 'error' }>;
      expect(err.error.code).toBe('DISK_FULL');
      const left = readdirSync(join(dir, 'checkpoints'));
      expect(left.filter((f) => f.startsWith('.'))).toEqual([]); // no temporary file left behind
      const ckpts = left.filter((f) => f.startsWith('step_')).sort();
      expect(ckpts.length).toBeGreaterThan(0);
      for (const c of ckpts) verifyCheckpoint(join(dir, 'checkpoints', c));
      expect(readStatus(dir)).toMatchObject({ state: 'failed', error: { code: 'DISK_FULL' } });
    } finally {
      spawnSync('umount', [mnt]);
    }
  });
});
