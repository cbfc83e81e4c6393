// Runs logged on different grids (train every 20 steps, eval every 500) align on one x grid: the union, each curve
// at its own points and empty elsewhere; the CSV carries exactly that, raw and smoothed.
import { describe, expect, it } from 'vitest';
import { alignOnUnion, chartCsv, emaDebiased, prepareChart, seriesFromRecords, type ChartRun } from '../../src-main/charts/index';
import type { MetricRecord } from '../../src-main/runs/format';

describe('alignment', () => {
  it('takes the union of the grids and maps each curve to its own points', () => {
    const train = [20, 40, 60, 80, 100];
    const ev = [0, 50, 100];
    const a = alignOnUnion([train, ev]);
    expect(Array.from(a.x)).toEqual([0, 20, 40, 50, 60, 80, 100]);
    expect(Array.from(a.index[0])).toEqual([-1, 0, 1, -1, 2, 3, 4]);
    expect(Array.from(a.index[1])).toEqual([0, -1, -1, 1, -1, -1, 2]);
    const r = alignOnUnion([train, ev], [40, 80]);
    expect(Array.from(r.x)).toEqual([40, 50, 60, 80]);
  });
  it('series from records: train every 20 and eval every 500 steps; a resume that re-logged steps keeps the later lines', () => {
    const recs: MetricRecord[] = [];
    const t = (step: number, loss: number): MetricRecord => ({ kind: 'train', step, tokens: step * 10, elapsed_s: step / 10, time: '', loss, lr: 1e-3, grad_norm: 1, tokens_per_s: 1 });
    for (let s = 20; s <= 1000; s += 20) {
      recs.push(t(s, 10 - s / 200));
      if (s % 500 === 0) recs.push({ kind: 'eval', step: s, tokens: s * 10, elapsed_s: s / 10, time: '', val_loss: 9 - s / 250, val_tokens: 10 });
    }
    // crash after step 1000, resumed from step 960: 980 and 1000 logged again
    recs.push(t(980, 1), t(1000, 2));
    const m = seriesFromRecords(recs);
    expect(m.loss.y.length).toBe(50);
    expect(m.loss.y[49]).toBe(2);
    expect(m.loss.y[48]).toBe(1);
    expect(Array.from(m.val_loss.step)).toEqual([500, 1000]);
    const run: ChartRun = { id: 'r', name: 'r', metrics: m };
    const p = prepareChart([run], { metrics: ['loss', 'val_loss'] });
    const lines = chartCsv(p).trim().split('\n');
    expect(lines[0]).toBe('step,r · train loss raw,r · train loss smoothed,r · val loss raw');
    expect(lines).toHaveLength(1 + 50);
    const row500 = lines.find((l) => l.startsWith('500,'))!.split(',');
    expect(Number(row500[3])).toBe(7);
    expect(lines.find((l) => l.startsWith('520,'))!.split(',')[3]).toBe('');
    const ema = emaDebiased(m.loss.y, 0.6);
    expect(Number(lines[50].split(',')[2])).toBeCloseTo(ema[49], 12);
  });
});
