// The New run form's pieces on their own: the text → `--set` rules of lib/new-run-form.ts (what a command line
// would say for each typed value), the range helper of the Sweeps view, and the estimate — steps and tokens as the
// trainer computes them, memory from the engine's plan, time from the median tokens/s of a finished run of the
// same shape in real run folders (not from a run of another shape or batch), naming that run.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { overrideValue, parseValues, rangeValues, requestFor, textsOf } from '../../src-renderer/src/lib/new-run-form';
import { runConfigFields } from '../../src-main/runs/config-form';
import { checkRequest } from '../../src-main/runs/validate';
import { estimateRun, Measurements } from '../../src-main/runs/estimate';
import { planTraining, bytesOf, parameterBytes } from '../../src-main/engine/model/plan';
import { layoutParameters, parameterSpecs } from '../../src-main/engine/model/parameters';
import { applyOverrides } from '../../src-main/engine/train/run-config';
import type { DeviceProbe } from '../../src-main/runs/validate';

const ws = mkdtempSync(join(tmpdir(), 'lmwb-estimate-'));
afterAll(() => rmSync(ws, { recursive: true, force: true }));
const fields = runConfigFields();
const f = (key: string) => fields.find((x) => x.key === key)!;
const DEVICE: DeviceProbe = { name: 'Test GPU 9000', driver: 'test', isSoftware: false, maxStorageBufferBindingSize: 2 ** 27, maxBufferSize: 2 ** 32, subgroupMatrix: false };

/** A run folder as the trainer leaves it: config, status (with its GPU), train records with tokens/s. */
function fakeRun(id: string, config: Record<string, unknown>, gpu: string, tps: number[], updated: string): void {
  const dir = join(ws, 'runs', id);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
  writeFileSync(join(dir, 'status.json'), JSON.stringify({ state: 'done', attempts: 1, restarts: [], created: updated, updated, step: tps.length * 10, gpu }));
  writeFileSync(join(dir, 'metrics.jsonl'), tps.map((t, i) => JSON.stringify({ kind: 'train', step: (i + 1) * 10, tokens: 0, elapsed_s: i, time: updated, loss: 3, lr: 1e-3, grad_norm: 1, tokens_per_s: t })).join('\n') + '\n');
}

describe('the form text → overrides', () => {
  it('writes each value as a command line would', () => {
    expect(overrideValue(f('name'), 'abc')).toBe('abc');
    expect(overrideValue(f('name'), '123')).toBe('"123"'); // a name that JSON reads as a number stays text
    expect(overrideValue(f('data.train'), 'true')).toBe('"true"');
    expect(overrideValue(f('training.betas'), '0.9, 0.99')).toBe('[0.9, 0.99]');
    expect(overrideValue(f('training.max_learning_rate'), ' 1e-3 ')).toBe('1e-3');
    // Data paths inside the workspace show relative to it (they resolve against it); others as they are.
    expect(textsOf([f('data.train')], { data: { train: '/ws/a/datasets/x/train.bin' } }, '/ws/a/')['data.train']).toBe('datasets/x/train.bin');
    expect(textsOf([f('data.train')], { data: { train: '/ws/ab/train.bin' } }, '/ws/a')['data.train']).toBe('/ws/ab/train.bin');
    // Each override, applied as the CLI applies --set, gives the typed value.
    const applied = applyOverrides({}, [
      `name=${overrideValue(f('name'), '123')}`, `training.betas=${overrideValue(f('training.betas'), '0.9, 0.99')}`, 'eval.batches=all',
    ]);
    expect(applied).toEqual({ name: '123', training: { betas: [0.9, 0.99] }, eval: { batches: 'all' } });
  });

  it('sends only the changed fields; a cleared optional key is removed, a cleared required one is an error to report', () => {
    const base = textsOf(fields, { name: 'x', model: { d_model: 64 }, training: { max_steps: 10, batch_size: 8 } });
    expect(requestFor('smoke', fields, base, base)).toEqual({ preset: 'smoke', set: [], unset: [] });
    const r = requestFor('smoke', fields, base, { ...base, 'training.max_steps': '', 'training.batch_size': '', 'model.d_model': '96' });
    expect(r).toEqual({ preset: 'smoke', set: ['model.d_model=96', 'training.batch_size='], unset: ['training.max_steps'] });
    const c = checkRequest(ws, { preset: 'smoke', sets: r.set, unset: r.unset });
    expect(c.issues.find((i) => i.key === 'training.batch_size')?.message).toMatch(/must be a number/);
  });

  it('fills ranges: linear, log, whole numbers', () => {
    expect(rangeValues(1e-4, 1e-2, 5, true, false)).toEqual([0.0001, 0.0003162, 0.001, 0.003162, 0.01]);
    expect(rangeValues(0, 1, 3, false, false)).toEqual([0, 0.5, 1]);
    expect(rangeValues(16, 128, 4, true, true)).toEqual([16, 32, 64, 128]);
    expect(rangeValues(0, 1, 3, true, false)).toEqual([]); // no log range through 0
    expect(parseValues('1e-3, pre,true, "x"')).toEqual([0.001, 'pre', true, 'x']);
  });
});

describe('the estimate', () => {
  it('computes steps, tokens and memory as the trainer and its memory plan do', () => {
    const c = checkRequest(ws, { preset: 'smoke', sets: ['training.max_steps=7', 'training.batch_size=4'] }, { device: DEVICE });
    expect(c.ok).toBe(true);
    const e = estimateRun(c.parsed!, DEVICE, new Measurements(ws));
    expect(e).toMatchObject({ steps: 7, tokensPerStep: 4 * 64, totalTokens: 7 * 4 * 64 });
    const plan = planTraining(c.parsed!.model, { batchSize: 4, seqLen: 64, logitsChunkBytes: 256 * 2 ** 20, maxBindingBytes: DEVICE.maxStorageBufferBindingSize, halfOperands: false }).buffers;
    const params = parameterBytes(layoutParameters(parameterSpecs(c.parsed!.model)).totalFloats, true, false);
    expect(e.memory.activationBytes).toBe(plan.reduce((s, b) => s + bytesOf(b), 0));
    expect(e.memory.parameterBytes).toBe(params);
    expect(e.memory.device).toMatchObject({ name: DEVICE.name, maxBindingBytes: 2 ** 27, memoryBytes: null });
    expect(e.time).toBeNull();
    expect(e.timeNote).toMatch(/no measurement yet/);
    // Total tokens wins over steps where the config gives a budget: steps = round(tokens / (B·T)).
    const t = checkRequest(ws, { preset: 'smoke', sets: ['training.total_tokens=10000'], unset: ['training.max_steps'] });
    expect(t.parsed!.steps).toBe(Math.round(10000 / (8 * 64)));
  });

  it('plans the logits chunk the run asks for (training.logits_chunk_mb), as the trainer does', () => {
    const sets = ['training.max_steps=7', 'training.batch_size=4'];
    const whole = checkRequest(ws, { preset: 'smoke', sets }, { device: DEVICE });
    const small = checkRequest(ws, { preset: 'smoke', sets: [...sets, 'training.logits_chunk_mb=0.1'] }, { device: DEVICE });
    expect(small.ok).toBe(true);
    const activations = (c: typeof small) => estimateRun(c.parsed!, DEVICE, new Measurements(ws)).memory.activationBytes;
    const plan = planTraining(small.parsed!.model, { batchSize: 4, seqLen: 64, logitsChunkBytes: Math.round(0.1 * 2 ** 20), maxBindingBytes: DEVICE.maxStorageBufferBindingSize, halfOperands: false }).buffers;
    expect(activations(small)).toBe(plan.reduce((s, b) => s + bytesOf(b), 0));
    expect(activations(small)).toBeLessThan(activations(whole));
    expect(f('training.logits_chunk_mb').help).toMatch(/MiB of logits/);
    expect(checkRequest(ws, { preset: 'smoke', sets: ['training.logits_chunk_mb=0'] }).ok).toBe(false);
  });

  it('takes time from the newest run of the same shape, batch and precision, preferring this GPU', () => {
    const c = checkRequest(ws, { preset: 'smoke', sets: ['training.max_steps=100'] });
    const cfg = c.config!;
    const other = JSON.parse(JSON.stringify(cfg)) as { training: { batch_size: number } };
    other.training.batch_size = 16;
    fakeRun('other-batch', other, DEVICE.name, [1, 99_999, 99_999], '2026-12-01T10:00:00Z'); // another batch: not used
    fakeRun('same-elsewhere', cfg, 'Other GPU', [1, 7000, 7000], '2026-12-01T12:00:00Z'); // newer, but another GPU
    fakeRun('same-here', cfg, `${DEVICE.name} (gpu 0 of 1)`, [5, 2000, 4000, 3000], '2026-12-01T11:00:00Z');
    const m = new Measurements(ws);
    const here = estimateRun(c.parsed!, DEVICE, m);
    // The median of the records after the first (which includes shader compilation): 3000.
    expect(here.time).toMatchObject({ run: 'same-here', tokensPerS: 3000, sameDevice: true, seconds: (100 * 8 * 64) / 3000 });
    expect(here.timeNote).toMatch(/same-here.*this GPU/);
    // On a machine whose GPU has no run, the newest of the same shape, said to be from elsewhere.
    const elsewhere = estimateRun(c.parsed!, { ...DEVICE, name: 'Third GPU' }, m);
    expect(elsewhere.time).toMatchObject({ run: 'same-elsewhere', tokensPerS: 7000, sameDevice: false });
    expect(elsewhere.timeNote).toMatch(/rough guide/);
  });
});
