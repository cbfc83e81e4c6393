// The checkpoints browser's API against a real backend over real safetensors files (written by the engine's own
// writer, with the trainer's metadata keys) and a metrics.jsonl: the list has step, val loss at that step (the
// checkpoint's metadata wins over metrics.jsonl), size, date, best and newest; delete refuses the newest checkpoint
// of a run that resumes from it and takes the queue lock; export copies byte for byte through a temporary file,
// never replaces a file unless asked, and names rejected paths.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Backend } from '../../src-main/server/backend';
import type { CheckpointList } from '../../src-main/api/areas/checkpoints';
import { writeSafetensors, f32Tensor } from '../../src-main/engine/checkpoint/safetensors';
import { createRun } from '../../src-main/runs/store';
import { withQueueLock } from '../../src-main/runs/queue';
import { updateStatus } from '../../src-main/runs/status';

const ws = mkdtempSync(join(tmpdir(), 'lmwb-ckpt-app-'));
const out = mkdtempSync(join(tmpdir(), 'lmwb-ckpt-out-'));
let backend: Backend;
let run = '';
const name = (step: number) => `step_${String(step).padStart(7, '0')}.safetensors`;

function writeCkpt(dir: string, step: number, extra: Record<string, string> = {}, n = 100): void {
  mkdirSync(join(dir, 'checkpoints'), { recursive: true });
  const values = Float32Array.from({ length: n }, (_, i) => Math.sin(step + i));
  writeSafetensors(join(dir, 'checkpoints', name(step)), [['w', f32Tensor([n], values)]], {
    format: 'lmwb-checkpoint-1', step: String(step), tokens_seen: String(step * 512), elapsed_s: String(step / 10), ...extra,
  });
}
const evalLine = (step: number, v: number) => `${JSON.stringify({ kind: 'eval', step, tokens: step * 512, elapsed_s: step / 10, time: 't', val_loss: v, val_ppl: Math.exp(v), val_tokens: 100 })}\n`;

async function call<T>(method: string, params: unknown = {}): Promise<T> {
  const r = await backend.call({ method, params });
  if (!r.ok) throw Object.assign(new Error(r.error.message), { code: r.error.code });
  return r.result as T;
}

beforeAll(() => {
  run = createRun(ws, { config: { name: 'r' }, status: { state: 'paused' } }).id;
  const dir = join(ws, 'runs', run);
  writeCkpt(dir, 100);
  writeCkpt(dir, 200, {}, 300);
  writeCkpt(dir, 300, { val_loss: '1.25' });
  writeCkpt(dir, 400);
  writeFileSync(join(dir, 'checkpoints', name(500)), 'not a safetensors file');
  writeFileSync(join(dir, 'metrics.jsonl'), [evalLine(100, 2.5), evalLine(200, 1.5), evalLine(250, 1.0), evalLine(300, 9), evalLine(400, 1.75)].join(''));
  backend = new Backend({ workspace: ws, host: 'serve' });
});
afterAll(async () => {
  await backend.close();
  rmSync(ws, { recursive: true, force: true });
  rmSync(out, { recursive: true, force: true });
});

describe('checkpoints.list', () => {
  it('step, val loss at that step, size, date; best and newest marked', async () => {
    const l = await call<CheckpointList>('checkpoints.list', { id: run });
    expect(l.state).toBe('paused');
    expect(l.checkpoints.map((c) => c.step)).toEqual([100, 200, 300, 400, 500]);
    const by = (s: number) => l.checkpoints.find((c) => c.step === s)!;
    expect(by(100)).toMatchObject({ valLoss: 2.5, valLossFrom: 'metrics', tokens: 51_200, elapsedS: 10, unreadable: false, best: false });
    expect(by(300)).toMatchObject({ valLoss: 1.25, valLossFrom: 'metadata' }); // not the 9 of metrics.jsonl
    expect(by(200)).toMatchObject({ valLoss: 1.5, best: false });
    expect(by(300).best).toBe(true); // 1.25 < 1.5 < 1.75 < 2.5 (step 250's 1.0 is no checkpoint's)
    expect(by(500)).toMatchObject({ unreadable: true, valLoss: null, newest: true });
    expect(l.checkpoints.filter((c) => c.newest).map((c) => c.step)).toEqual([500]);
    for (const c of l.checkpoints) {
      const st = statSync(join(ws, 'runs', run, 'checkpoints', c.file));
      expect(c.bytes).toBe(st.size);
      expect(c.time).toBe(st.mtime.toISOString());
    }
    await expect(call('checkpoints.list', { id: 'nope' })).rejects.toMatchObject({ code: 'RUN_NOT_FOUND' });
  });
});

describe('checkpoints.delete', () => {
  it("refuses the newest checkpoint of a run that resumes from it; deletes others, and the newest once it is done", async () => {
    const newest = name(500);
    await expect(call('checkpoints.delete', { id: run, file: newest })).rejects.toMatchObject({ code: 'QUEUE_CONFLICT', message: expect.stringContaining('resumes from it') });
    expect(existsSync(join(ws, 'runs', run, 'checkpoints', newest))).toBe(true);
    const l = await call<CheckpointList>('checkpoints.delete', { id: run, file: name(100) });
    expect(l.checkpoints.map((c) => c.step)).toEqual([200, 300, 400, 500]);
    await expect(call('checkpoints.delete', { id: run, file: name(100) })).rejects.toMatchObject({ code: 'FILE_NOT_FOUND' });
    await expect(call('checkpoints.delete', { id: run, file: '../status.json' })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    updateStatus(join(ws, 'runs', run), { state: 'done' });
    expect((await call<CheckpointList>('checkpoints.delete', { id: run, file: newest })).checkpoints.map((c) => c.step)).toEqual([200, 300, 400]);
  });

  it('waits for the queue lock (no worker can claim or resume the run meanwhile)', async () => {
    const order: string[] = [];
    let release!: () => void;
    const held = withQueueLock(ws, () => new Promise<void>((r) => {
      order.push('lock held');
      release = () => {
        order.push('lock released');
        r();
      };
    }));
    await new Promise((r) => setTimeout(r, 50));
    const del = call('checkpoints.delete', { id: run, file: name(200) }).then(() => order.push('deleted'));
    await new Promise((r) => setTimeout(r, 300));
    expect(existsSync(join(ws, 'runs', run, 'checkpoints', name(200)))).toBe(true);
    release();
    await held;
    await del;
    expect(order).toEqual(['lock held', 'lock released', 'deleted']);
  });
});

describe('checkpoints.export', () => {
  const src = () => join(ws, 'runs', run, 'checkpoints', name(300));

  it('copies byte for byte; refuses to replace unless asked; an existing folder gets <run>-<file>', async () => {
    const dest = join(out, 'model.safetensors');
    const r = await call<{ path: string; bytes: number; replaced: boolean }>('checkpoints.export', { id: run, file: name(300), dest });
    expect(r).toEqual({ path: dest, bytes: statSync(src()).size, replaced: false });
    expect(readFileSync(dest).equals(readFileSync(src()))).toBe(true);

    writeFileSync(dest, 'mine');
    await expect(call('checkpoints.export', { id: run, file: name(300), dest })).rejects.toMatchObject({ code: 'FILE_EXISTS' });
    expect(readFileSync(dest, 'utf8')).toBe('mine'); // untouched
    expect((await call<{ replaced: boolean }>('checkpoints.export', { id: run, file: name(300), dest, overwrite: true })).replaced).toBe(true);
    expect(readFileSync(dest).equals(readFileSync(src()))).toBe(true);

    const inFolder = await call<{ path: string }>('checkpoints.export', { id: run, file: name(400), dest: out });
    expect(inFolder.path).toBe(join(out, `${run}-${name(400)}`));
    expect(readFileSync(inFolder.path).equals(readFileSync(join(ws, 'runs', run, 'checkpoints', name(400))))).toBe(true);
    expect(readdirSync(out).filter((f) => f.includes('.tmp-'))).toEqual([]); // no temporary file left
  });

  it('makes the suggested exports/ folder; names bad destinations', async () => {
    const l = await call<CheckpointList>('checkpoints.list', { id: run });
    expect(l.exportDir).toBe(join(ws, 'exports'));
    const r = await call<{ path: string }>('checkpoints.export', { id: run, file: name(300), dest: join(l.exportDir, 'a.safetensors') });
    expect(readFileSync(r.path).equals(readFileSync(src()))).toBe(true);
    await expect(call('checkpoints.export', { id: run, file: name(300), dest: 'relative.safetensors' })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('absolute') });
    await expect(call('checkpoints.export', { id: run, file: name(300), dest: join(out, 'no', 'such', 'x.safetensors') })).rejects.toMatchObject({ code: 'FILE_NOT_FOUND', message: expect.stringContaining('does not exist') });
    await expect(call('checkpoints.export', { id: run, file: name(100), dest: join(out, 'gone.safetensors') })).rejects.toMatchObject({ code: 'FILE_NOT_FOUND' });
    const into = join(ws, 'runs', run, 'checkpoints', name(999));
    await expect(call('checkpoints.export', { id: run, file: name(300), dest: into })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('runs folder') });
    expect(existsSync(into)).toBe(false);
  });
});
