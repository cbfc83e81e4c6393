// The New run form and `lmwb queue add` make the same run: the request the form builds from what a user typed
// (lib/new-run-form.ts, the renderer's own code) goes to the real backend over real HTTP (`newrun.queue`), the same
// values typed as `lmwb queue add --preset smoke --set …` go to the real CLI process, and the two config.json files
// are compared whole. Every kind of field the form sets is covered: number, whole number, on/off, choice, text,
// path, pair, number-or-"all", nested keys, and a key the preset sets that the user cleared (--unset). Also: the
// checks name the field, a request with errors is not queued, the form lists every schema field, and a sweep from
// the Sweeps view equals `lmwb sweep`'s.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Backend } from '../../src-main/server/backend';
import { startServer, type RunningServer } from '../../src-main/server/http';
import type { NewRunForm, RunCheck } from '../../src-main/api/areas/new-run';
import { requestFor, textsOf } from '../../src-renderer/src/lib/new-run-form';
import { RunConfigSchema } from '../../src-main/engine/train/run-config';

const run = promisify(execFile);
const ROOT = join(__dirname, '..', '..');
const ws = mkdtempSync(join(tmpdir(), 'lmwb-newrun-'));
const XDG = process.env.XDG_RUNTIME_DIR ?? '/tmp/xdg-runtime-0';
let server: RunningServer;
let backend: Backend;

async function call<T>(method: string, params: unknown = {}): Promise<{ ok: true; result: T } | { ok: false; error: { code: string; message: string } }> {
  const r = await fetch(`http://127.0.0.1:${server.port}/api`, {
    method: 'POST', headers: { Authorization: `Bearer ${server.token}`, 'Content-Type': 'application/json' }, body: JSON.stringify({ method, params }),
  });
  expect(r.status).toBe(200);
  return (await r.json()) as { ok: true; result: T } | { ok: false; error: { code: string; message: string } };
}
async function ok<T>(method: string, params: unknown = {}): Promise<T> {
  const r = await call<T>(method, params);
  if (!r.ok) throw new Error(`${method}: ${r.error.message}`);
  return r.result;
}

/** The real CLI, in another process. */
async function lmwb(...args: string[]): Promise<string> {
  const { stdout } = await run(process.execPath, [join(ROOT, 'bin', 'lmwb.mjs'), ...args, '--workspace', ws], { cwd: ROOT, env: { ...process.env, XDG_RUNTIME_DIR: XDG } });
  return stdout;
}
const configOf = (id: string) => JSON.parse(readFileSync(join(ws, 'runs', id, 'config.json'), 'utf8')) as Record<string, unknown>;
const runIds = () => (existsSync(join(ws, 'runs')) ? readdirSync(join(ws, 'runs')).filter((d) => !d.startsWith('.')).sort() : []);

beforeAll(async () => {
  backend = new Backend({ workspace: ws, host: 'serve' });
  server = await startServer({ backend, port: 0, host: '127.0.0.1', allowRemote: false });
});
afterAll(async () => {
  await backend?.close(); // its queue worker checkpoints and stops the tiny runs it may be training
  await server?.close();
  rmSync(ws, { recursive: true, force: true });
});

describe('the New run form and lmwb queue add', () => {
  it('make the same config.json for the same values, for every kind of field', async () => {
    const form = await ok<NewRunForm>('newrun.form');
    const { config: baseline } = await ok<{ config: Record<string, unknown> }>('newrun.preset', { preset: 'smoke' });
    const base = textsOf(form.fields, baseline, form.workspace); // as the form shows it: data paths relative to the workspace
    expect(base['data.valid']).toBe('datasets/smoke-bytes/valid.bin');
    // What the user types into the form, field by field (text, as in the inputs).
    const typed: Record<string, string> = {
      name: 'same-run', // string
      'model.d_model': '48', // int, nested
      'model.num_heads': '6',
      'model.d_ff': '128',
      'model.norm': 'post', // enum
      'model.tie_embeddings': 'true', // bool
      'model.rope_theta': '5e3', // number in exponent notation
      'data.train': 'datasets/smoke-bytes/valid.bin', // path, relative to the workspace
      'training.max_steps': '', // the preset sets it; cleared (→ --unset) to give a token budget instead
      'training.total_tokens': '1536',
      'training.max_learning_rate': '2e-3', // number
      'training.min_learning_rate': '0.0002', // optional number the preset sets
      'training.cosine_cycle_iters': '3', // optional int the preset leaves out
      'training.betas': '0.85, 0.99', // pair
      'training.precision': 'f32',
      'eval.batches': 'all', // int or "all"
      'eval.interval': '0',
      'checkpoint.every_minutes': '0.5',
      'divergence.enabled': 'false',
      'log.interval': '1',
    };
    for (const k of Object.keys(typed)) expect(form.fields.some((f) => f.key === k), k).toBe(true);
    const req = requestFor('smoke', form.fields, base, { ...base, ...typed });
    expect(req.unset).toEqual(['training.max_steps']);
    expect(req.set).toHaveLength(Object.keys(typed).length - 1);

    const check = await ok<RunCheck>('newrun.validate', req);
    expect(check.issues.filter((i) => i.level === 'error')).toEqual([]);
    const fromForm = (await ok<{ id: string }>('newrun.queue', req)).id;

    // The same values as a user types them on a command line.
    const fromCli = (await lmwb('queue', 'add', '--preset', 'smoke', '--name', 'same-run',
      '--set', 'model.d_model=48', '--set', 'model.num_heads=6', '--set', 'model.d_ff=128', '--set', 'model.norm=post',
      '--set', 'model.tie_embeddings=true', '--set', 'model.rope_theta=5000', '--set', 'data.train=datasets/smoke-bytes/valid.bin',
      '--unset', 'training.max_steps', '--set', 'training.total_tokens=1536', '--set', 'training.max_learning_rate=0.002',
      '--set', 'training.min_learning_rate=2e-4', '--set', 'training.cosine_cycle_iters=3', '--set', 'training.betas=[0.85,0.99]',
      '--set', 'training.precision=f32', '--set', 'eval.batches=all', '--set', 'eval.interval=0', '--set', 'checkpoint.every_minutes=0.5',
      '--set', 'divergence.enabled=false', '--set', 'log.interval=1')).trim();
    expect(fromCli).not.toBe(fromForm);

    const a = configOf(fromForm);
    const b = configOf(fromCli);
    // Nothing left out: config.json holds no per-run fields (the id, folder and creation time live in the folder
    // name and status.json; out_dir is dropped when a config is resolved), and both runs are named the same.
    expect(a).toEqual(b);
    // …and the values are the typed ones (so an equal pair of wrong configs fails too).
    expect(a).toMatchObject({
      name: 'same-run',
      model: { d_model: 48, num_heads: 6, d_ff: 128, norm: 'post', tie_embeddings: true, rope_theta: 5000, vocab_size: 256 },
      data: { train: join(ws, 'datasets', 'smoke-bytes', 'valid.bin') },
      training: { total_tokens: 1536, max_learning_rate: 0.002, min_learning_rate: 0.0002, cosine_cycle_iters: 3, betas: [0.85, 0.99], precision: 'f32', batch_size: 8 },
      eval: { batches: 'all', interval: 0 },
      checkpoint: { every_minutes: 0.5 },
      divergence: { enabled: false },
      log: { interval: 1 },
    });
    expect((a.training as Record<string, unknown>).max_steps).toBeUndefined();
    expect(check.estimate).toMatchObject({ steps: 3, tokensPerStep: 512, totalTokens: 1536 });
  }, 240_000);

  it('names the field of each problem, and does not queue a request with errors', async () => {
    const before = runIds();
    const check = (set: string[], unset: string[] = []) => ok<RunCheck>('newrun.validate', { preset: 'smoke', set, unset });
    const heads = await check(['model.num_heads=3']);
    expect(heads.ok).toBe(false);
    expect(heads.issues[0]).toMatchObject({ key: 'model.d_model', level: 'error' });
    expect(heads.issues[0].message).toMatch(/divisible by model\.num_heads/);
    expect(heads.issues[1]).toMatchObject({ key: 'model.num_heads', message: heads.issues[0].message }); // beside both fields
    const rope = await check(['model.d_model=72', 'model.num_heads=8']);
    expect(rope.issues[0]).toMatchObject({ key: 'model.num_heads' });
    expect(rope.issues[0].message).toMatch(/even/);
    const types = await check(['training.batch_size=0.5', 'training.max_learning_rate=fast', 'model.norm=mid', 'training.nope=1']);
    expect(Object.fromEntries(types.issues.map((i) => [i.key, i.message]))).toMatchObject({
      'training.batch_size': expect.stringMatching(/whole number/),
      'training.max_learning_rate': expect.stringMatching(/must be a number/),
      'model.norm': expect.stringMatching(/one of "pre", "post", "none"/),
      training: expect.stringMatching(/unknown key "nope"/),
    });
    const both = await check(['training.total_tokens=1000']);
    expect(both.issues[0]).toMatchObject({ key: 'training.total_tokens', message: expect.stringMatching(/not both/) });
    const file = await check(['data.train=datasets/none/train.bin']);
    expect(file.issues[0]).toMatchObject({ key: 'data.train', message: expect.stringMatching(/not found/) });
    // A dataset whose tokenizer is larger than the model's vocab: the trainer's start-up rule, named on vocab_size.
    const vocab = await check(['model.vocab_size=100']);
    expect(vocab.issues.find((i) => i.level === 'error')).toMatchObject({ key: 'model.vocab_size', message: expect.stringMatching(/vocab_size/) });
    // The batch against the device (read by a `lmwb device` child): far past the binding limit.
    await ok('newrun.device');
    const batch = await check(['training.batch_size=200000']);
    expect(batch.issues[0]).toMatchObject({ key: 'training.batch_size', message: expect.stringMatching(/does not fit.*use batch_size ≤ \d+/) });
    // Queue refuses each of them (the backend checks again), and nothing is created.
    for (const set of [['model.num_heads=3'], ['training.nope=1'], ['data.train=datasets/none/train.bin'], ['training.batch_size=200000']]) {
      const r = await call('newrun.queue', { preset: 'smoke', set });
      expect(r.ok, set[0]).toBe(false);
      if (!r.ok) expect(r.error.code).toBe('CONFIG_INVALID');
    }
    expect(runIds()).toEqual(before);
  }, 240_000);

  it('lists every key of the config schema as a typed field with help', async () => {
    const form = await ok<NewRunForm>('newrun.form');
    const leaves = (shape: Record<string, unknown>, prefix = ''): string[] =>
      Object.entries(shape).flatMap(([k, v]) => {
        const key = prefix ? `${prefix}.${k}` : k;
        let s = v as { def?: { type?: string; innerType?: unknown; shape?: Record<string, unknown> }; shape?: Record<string, unknown> };
        while (s.def?.innerType) s = s.def.innerType as typeof s; // optional / default wrappers
        return s.def?.type === 'object' && s.shape ? leaves(s.shape, key) : [key];
      });
    const schemaKeys = leaves(RunConfigSchema.shape as Record<string, unknown>).filter((k) => k !== 'out_dir');
    expect(form.fields.map((f) => f.key).sort()).toEqual(schemaKeys.sort());
    for (const f of form.fields) expect(f.help, f.key).not.toBe('');
    expect(form.fields.find((f) => f.key === 'training.betas')).toMatchObject({ kind: 'pair', default: [0.9, 0.95] });
    expect(form.fields.find((f) => f.key === 'eval.batches')).toMatchObject({ kind: 'int-or-all', options: ['all'] });
    expect(form.fields.find((f) => f.key === 'model.norm')).toMatchObject({ kind: 'enum', options: ['pre', 'post', 'none'], default: 'pre' });
    expect(form.presets.map((p) => p.name)).toEqual(expect.arrayContaining(['smoke', 'tinystories-base', 'tinystories-lowres', 'owt-main', 'leaderboard']));
    // Each ablation is a starting point: the TinyStories base preset with the variant's overrides (sent as --set).
    expect(form.starts.map((s) => s.name)).toEqual(['ablation-no-rmsnorm', 'ablation-post-norm', 'ablation-nope', 'ablation-silu', 'ablation-tied']);
    const silu = await ok<{ preset: string; config: { model: { ffn: string } }; start: { model: { ffn: string; d_ff: number } }; sets: string[] }>('newrun.preset', { preset: 'ablation-silu' });
    expect(silu.preset).toBe('tinystories-base');
    expect(silu.config.model.ffn).toBe('swiglu');
    expect(silu.start.model).toMatchObject({ ffn: 'silu', d_ff: 2048 });
    expect(silu.sets).toEqual(expect.arrayContaining(['name=silu', 'model.ffn="silu"', 'model.d_ff=2048']));
  });

  it('queues a sweep as one group, with the same configs as lmwb sweep', async () => {
    const sweep = { base: 'smoke', set: ['training.max_steps=2', 'eval.interval=0'], grids: [{ key: 'training.max_learning_rate', values: [0.001, 0.004] }, { key: 'model.norm', values: ['pre', 'none'] }], name: 'ui-grid' };
    const preview = await ok<{ runs: Array<{ label: string; values: Record<string, unknown> }>; ok: boolean; keys: string[] }>('newrun.sweepPreview', sweep);
    expect(preview.ok).toBe(true);
    expect(preview.runs.map((r) => r.values)).toEqual([
      { 'training.max_learning_rate': 0.001, 'model.norm': 'pre' }, { 'training.max_learning_rate': 0.001, 'model.norm': 'none' },
      { 'training.max_learning_rate': 0.004, 'model.norm': 'pre' }, { 'training.max_learning_rate': 0.004, 'model.norm': 'none' },
    ]);
    const q = await ok<{ name: string; runs: Array<{ id: string; label: string }> }>('newrun.sweepQueue', sweep);
    expect(q.name).toBe('ui-grid');
    expect(q.runs).toHaveLength(4);
    const cli = (await lmwb('sweep', '--base', 'smoke', '--set', 'training.max_steps=2', '--set', 'eval.interval=0',
      '--grid', 'training.max_learning_rate=1e-3,4e-3', '--grid', 'model.norm=pre,none', '--name', 'cli-grid')).trim().split('\n');
    expect(cli).toHaveLength(4);
    for (let i = 0; i < 4; i++) {
      const { name: na, ...a } = configOf(q.runs[i].id);
      const { name: nb, ...b } = configOf(cli[i]);
      // Only the run name differs: it carries the sweep's name (ui-grid-… / cli-grid-…).
      expect(String(na).replace('ui-grid', 'X')).toBe(String(nb).replace('cli-grid', 'X'));
      expect(a).toEqual(b);
      const meta = JSON.parse(readFileSync(join(ws, 'runs', q.runs[i].id, 'meta.json'), 'utf8')) as { sweep: { name: string } };
      expect(meta.sweep.name).toBe('ui-grid');
    }
    // A point with an error queues nothing.
    const before = runIds();
    const bad = await call('newrun.sweepQueue', { ...sweep, name: 'bad', grids: [{ key: 'model.num_heads', values: [4, 3] }] });
    expect(bad.ok).toBe(false);
    expect(runIds()).toEqual(before);
  }, 240_000);
});
