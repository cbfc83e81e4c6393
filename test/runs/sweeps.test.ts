// Sweep plans and queueing without a GPU: grids (cartesian product), the §7 presets' points and rules (lr grid,
// lr-fine from a finished coarse sweep and its error when none finished, the lr-edge ladder and its cancel rule,
// the batch ladder from the memory plan with the same token budget, the ablations with their baseline), swept
// keys recorded in meta.json, and a bad point queueing nothing.
import { afterAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { existsSync, writeFileSync } from 'node:fs';
import { tempDir } from '../helpers';
import { gridPoints, parseGrid, queueSweep } from '../../src-main/runs/sweeps';
import { batchLadder, largestBatch, planAccepts, planPreset } from '../../src-main/runs/sweep-presets';
import { afterRunFinished } from '../../src-main/runs/sweep-policy';
import { listRuns } from '../../src-main/runs/index';
import { readConfig, readMeta, readStatus } from '../../src-main/runs/read';
import { updateStatus } from '../../src-main/runs/status';
import { lmwb } from './helpers';

const tmp = tempDir('lmwb-sweeps-');
afterAll(() => tmp.cleanup());

const base = () => ({
  name: 'b',
  model: { vocab_size: 256, context_length: 16, d_model: 32, num_layers: 1, num_heads: 2, d_ff: 48 },
  data: { train: '/data/t.bin' },
  training: { batch_size: 8, max_steps: 100, max_learning_rate: 1e-3, min_learning_rate: 1e-4, warmup_iters: 10 },
  eval: { interval: 20, batches: 2 },
  checkpoint: { interval: 50, keep_last: 1 },
  log: { interval: 4 },
});

describe('grids', () => {
  it('is the cartesian product, the last key fastest', () => {
    const pts = gridPoints([parseGrid('training.max_learning_rate=1e-3,3e-3'), parseGrid('model.norm=pre,post,none')]);
    expect(pts.map((p) => p.label)).toEqual(['lr0.001-normpre', 'lr0.001-normpost', 'lr0.001-normnone', 'lr0.003-normpre', 'lr0.003-normpost', 'lr0.003-normnone']);
    expect(pts[4].sets).toEqual(['training.max_learning_rate=0.003', 'model.norm="post"']);
    expect(() => parseGrid('training.batch_size')).toThrow(/a grid is key=v1,v2/);
  });

  it('queues one run per point with the swept keys in meta.json; a bad point queues nothing', () => {
    const ws = join(tmp.path, 'grid');
    const q = queueSweep(ws, { name: 'g', base: base(), points: gridPoints([parseGrid('training.batch_size=2,4'), parseGrid('model.pos=rope,nope')]), notes: [] }, { baseDir: ws, sets: ['training.max_steps=7'] });
    expect(q.runs).toHaveLength(4);
    expect(q.keys).toEqual(['training.batch_size', 'model.pos']);
    const meta = readMeta(join(ws, 'runs', q.runs[3].id))!;
    expect(meta).toMatchObject({ group: 'g', sweep: { name: 'g', keys: { 'training.batch_size': 4, 'model.pos': 'nope' } } });
    const cfg = readConfig(join(ws, 'runs', q.runs[3].id))! as { training: { max_steps: number; batch_size: number }; model: { pos: string } };
    expect(cfg.training).toMatchObject({ max_steps: 7, batch_size: 4 });
    expect(existsSync(join(ws, 'sweeps', 'g.json'))).toBe(true);
    const again = queueSweep(ws, { name: 'g', base: base(), points: [{ label: 'x', sets: [] }], notes: [] }, { baseDir: ws });
    expect(again.name).toBe('g-2');
    expect(() => queueSweep(ws, { name: 'bad', base: base(), points: gridPoints([parseGrid('model.num_heads=2,3')]), notes: [] }, { baseDir: ws }))
      .toThrow(/d_model \(32\) must be divisible by model\.num_heads \(3\)/);
    expect(listRuns(ws)).toHaveLength(5); // nothing of "bad"
  });
});

describe('presets', () => {
  it('lr-coarse is a log grid with min lr = 0.1 × max', () => {
    const p = planPreset('lr-coarse', { workspace: tmp.path, base: base() });
    expect(p.points.map((x) => x.sets[0])).toEqual(['1e-4', '2e-4', '5e-4', 0.001, 0.002, 0.005, 0.01].map((v) => `training.max_learning_rate=${Number(v)}`));
    expect(p.points[3].sets[1]).toBe('training.min_learning_rate=0.0001');
  });

  it('lr-fine needs a finished lr-coarse sweep and centres on its best run', () => {
    const ws = join(tmp.path, 'fine');
    expect(() => planPreset('lr-fine', { workspace: ws })).toThrow(/no lr-coarse sweep has a finished run/);
    const coarse = queueSweep(ws, planPreset('lr-coarse', { workspace: ws, base: base(), grids: [parseGrid('training.max_learning_rate=1e-3,2e-3,4e-3')] }), { baseDir: ws });
    expect(() => planPreset('lr-fine', { workspace: ws })).toThrow(/no lr-coarse sweep has a finished run/);
    const losses = [2.0, 1.5, NaN];
    coarse.runs.forEach((r, i) => updateStatus(join(ws, 'runs', r.id), Number.isNaN(losses[i]) ? { state: 'diverged' } : { state: 'done', final_val_loss: losses[i] }));
    const fine = planPreset('lr-fine', { workspace: ws });
    expect(fine.points.map((x) => x.label)).toEqual(['lr0.001', 'lr0.0014', 'lr0.0028', 'lr0.004']);
    expect(fine.notes[0]).toMatch(new RegExp(`best run of lr-coarse: ${coarse.runs[1].id} at lr 0.002`));
    expect((fine.base.training as { batch_size: number }).batch_size).toBe(8); // the best run's own config
  });

  it('lr-edge doubles from the best known lr and cancels the higher rungs once one diverges', async () => {
    const ws = join(tmp.path, 'edge');
    const plan = planPreset('lr-edge', { workspace: ws, base: base() });
    expect(plan.points.map((x) => Number(x.sets[0].split('=')[1]))).toEqual(Array.from({ length: 10 }, (_, k) => +(1e-3 * 2 ** k).toPrecision(4)));
    expect(plan.rules).toEqual({ stop_when_diverged: 'training.max_learning_rate' });
    const q = queueSweep(ws, plan, { baseDir: ws });
    updateStatus(join(ws, 'runs', q.runs[0].id), { state: 'done' });
    updateStatus(join(ws, 'runs', q.runs[1].id), { state: 'done' });
    updateStatus(join(ws, 'runs', q.runs[2].id), { state: 'diverged' });
    const r = await afterRunFinished(ws, q.runs[2].id, 'diverged');
    expect(r.ids).toEqual(q.runs.slice(3).map((x) => x.id));
    expect(q.runs.map((x) => readStatus(join(ws, 'runs', x.id))!.state)).toEqual(['done', 'done', 'diverged', ...Array(7).fill('cancelled')]);
  });

  it('batch-size: powers of two up to the largest batch the memory plan accepts, same tokens, sqrt lr rule', () => {
    const cs336 = { vocab_size: 10000, context_length: 256, d_model: 512, num_layers: 4, num_heads: 16, d_ff: 1344 };
    const limits = { maxStorageBufferBindingSize: 2 ** 28 }; // 256 MiB bindings
    const max = largestBatch(cs336, limits);
    expect(planAccepts(cs336, max, limits)).toBe(true);
    expect(planAccepts(cs336, max + 1, limits)).toBe(false);
    // The widest activation bound whole is [T, d_model] f32 = 256 × 512 × 4 bytes per sample: the FFN's [T, d_ff]
    // ones are bound in row chunks (forward.ts ffnChunks), so only the largest buffer limits them.
    expect(max).toBe(Math.floor(2 ** 28 / (256 * 512 * 4)));
    const withBuffer = { ...limits, maxBufferSize: 2 ** 29 };
    expect(largestBatch(cs336, withBuffer)).toBe(Math.floor(2 ** 29 / (256 * 1344 * 4)));
    expect(largestBatch(cs336, { maxStorageBufferBindingSize: 2 ** 40 })).toBe(1024); // the sweep's cap
    expect(batchLadder(12)).toEqual([1, 2, 4, 8, 12]);
    expect(batchLadder(128)).toEqual([1, 2, 4, 8, 16, 32, 64, 128]);

    const p = planPreset('batch-size', { workspace: tmp.path, base: base(), maxBatch: 32 });
    expect(p.points.map((x) => x.label)).toEqual(['bs1', 'bs2', 'bs4', 'bs8', 'bs16', 'bs32']);
    const bs32 = p.points[5];
    expect(bs32.unset).toEqual(['training.max_steps']);
    // base: batch 8 × 100 steps × 16 tokens; lr 1e-3 × sqrt(32 / 8); warmup and intervals × 8 / 32
    expect(bs32.sets).toEqual(['training.batch_size=32', 'training.total_tokens=12800', 'training.max_learning_rate=0.002', 'training.min_learning_rate=0.0002',
      'training.warmup_iters=3', 'eval.interval=5', 'checkpoint.interval=13', 'log.interval=1']);
    expect(p.notes.join(' ')).toMatch(/below the 64 and 128/);

    // The largest batch comes from the memory plan with the base's own logits chunk (training.logits_chunk_mb).
    const memory = { maxStorageBufferBindingSize: 2 ** 31, memoryBytes: 4 * 2 ** 30 };
    const big = { ...base(), model: cs336 };
    const small = { ...big, training: { ...big.training, logits_chunk_mb: 16 } };
    const largestIn = (plan: ReturnType<typeof planPreset>) => Number(/largest batch the memory plan accepts on this device: (\d+)/.exec(plan.notes.join(' '))?.[1]);
    const whole = largestIn(planPreset('batch-size', { workspace: tmp.path, base: big, limits: memory }));
    const chunked = largestIn(planPreset('batch-size', { workspace: tmp.path, base: small, limits: memory }));
    expect(whole).toBe(largestBatch(big.model, memory));
    expect(chunked).toBe(largestBatch(big.model, { ...memory, logitsChunkBytes: 16 * 2 ** 20 }));
    expect(chunked).toBeGreaterThan(whole);
  });

  it('ablations: every variant at the best lr against its baseline, no RMSNorm also lower, SiLU at d_ff = 4 d_model', () => {
    const p = planPreset('ablations', { workspace: join(tmp.path, 'abl'), base: base() });
    expect(p.points.map((x) => x.label)).toEqual(['baseline', 'no-rmsnorm', 'no-rmsnorm-lr5e-4', 'post-norm', 'nope', 'silu', 'tied']);
    expect(p.points.find((x) => x.label === 'silu')!.sets).toContain('model.d_ff=128');
    expect(p.points.find((x) => x.label === 'no-rmsnorm-lr5e-4')!.sets).toContain('training.max_learning_rate=0.0005');
    const one = planPreset('ablation-nope', { workspace: tmp.path, base: base() });
    expect(one.points.map((x) => x.label)).toEqual(['baseline', 'nope']);
  });

  it('the CLI: a dry run lists the points; an unknown preset is one clear line', () => {
    const ws = join(tmp.path, 'cli');
    const cfg = join(tmp.path, 'base.json');
    writeFileSync(cfg, JSON.stringify(base()));
    const r = lmwb(['sweep', '--preset', 'lr-edge', '--config', cfg, '--grid', 'training.max_learning_rate=0.01,0.02', '--dry-run', '-w', ws], tmp.path);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/sweep lr-edge: 2 runs/);
    expect(r.out).toMatch(/lr0\.02 +training\.max_learning_rate=0\.02 training\.min_learning_rate=0\.002/);
    expect(listRuns(ws)).toHaveLength(0);
    const bad = lmwb(['sweep', '--preset', 'lr-nope', '-w', ws], tmp.path);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/^lmwb: unknown sweep preset "lr-nope"; presets: lr-coarse, lr-fine/);
  });
});
