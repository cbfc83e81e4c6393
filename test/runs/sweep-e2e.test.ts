// A sweep preset end to end at tiny scale with the real CLI and real trainers: `lmwb sweep --preset lr-edge`
// (scaled down with --set, a short ladder with --grid) queued and worked through by `lmwb queue work`: the low lr
// trains to done, a high lr diverges (the trainer's rule) and the worker cancels the higher rungs still queued.
import { afterAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { tempDir } from '../helpers';
import { lmwb, tinyConfig, tinyTokens, writeJson } from './helpers';

const tmp = tempDir('lmwb-sweep-e2e-');
afterAll(() => tmp.cleanup());

describe('lmwb sweep --preset lr-edge', () => {
  it('finds the edge: done below it, a diverged run, the rungs above it cancelled', () => {
    const ws = tmp.path;
    const cfg = writeJson(join(ws, 'base.json'), tinyConfig(tinyTokens(ws), { steps: 200, name: 'edge' }));
    const s = lmwb(['sweep', '--preset', 'lr-edge', '--config', cfg, '--set', 'training.max_steps=60', '--set', 'checkpoint.interval=0',
      '--grid', 'training.max_learning_rate=0.002,1,8,64'], ws);
    expect(s.code, s.err).toBe(0);
    expect(s.err).toMatch(/sweep lr-edge: 4 runs queued \(swept: training\.max_learning_rate\)/);
    const ids = s.out.trim().split('\n');
    expect(ids).toHaveLength(4);

    const w = lmwb(['queue', 'work', '--until-empty'], ws, 240_000);
    expect(w.code, w.err).toBe(0);
    const list = JSON.parse(lmwb(['runs', 'list', '--sweep', 'lr-edge', '--json'], ws).out) as Array<{ id: string; state: string; lr: number; sweep: { keys: Record<string, number> } }>;
    const byLr = [...list].sort((a, b) => a.lr - b.lr);
    expect(byLr.map((r) => r.lr)).toEqual([0.002, 1, 8, 64]);
    expect(byLr.map((r) => r.sweep.keys['training.max_learning_rate'])).toEqual([0.002, 1, 8, 64]);
    expect(byLr[0].state).toBe('done');
    const first = byLr.findIndex((r) => r.state === 'diverged');
    expect(first).toBeGreaterThan(0);
    expect(first).toBeLessThan(3); // diverged before the last rung: so some rung was cancelled
    for (const r of byLr.slice(first + 1)) expect(r.state).toBe('cancelled');
    expect(w.out).toMatch(/diverged at training\.max_learning_rate=(1|8); higher rungs of sweep lr-edge cancelled/);
  }, 300_000);
});
