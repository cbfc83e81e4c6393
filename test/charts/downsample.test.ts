// The min/max downsampler keeps every bucket's extremes, the first and last point, a gap marker, and is recomputed
// for a visible range; the option builder's series, legend, target line, diverged mark and colour scale.
import { describe, expect, it } from 'vitest';
import { buildChartOptions, minMaxDownsample, prepareChart, type ChartRun } from '../../src-main/charts/index';

function noisy(n: number): { x: Float64Array; y: Float64Array } {
  const x = new Float64Array(n);
  const y = new Float64Array(n);
  let s = 12345;
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) % 2147483648;
    x[i] = i * 20;
    y[i] = 3 + Math.exp(-i / 2000) + (s / 2147483648 - 0.5) * 0.1 + (i % 997 === 0 ? 5 : 0); // spikes
  }
  return { x, y };
}

function checkBuckets(x: Float64Array, y: Float64Array, kept: Uint32Array, buckets: number, lo: number, hi: number): void {
  const set = new Set(kept);
  for (let b = 0; b < buckets; b++) {
    let iMin = -1;
    let iMax = -1;
    for (let i = 0; i < x.length; i++) {
      if (x[i] < lo || x[i] > hi) continue;
      if (Math.min(buckets - 1, Math.floor(((x[i] - lo) / (hi - lo)) * buckets)) !== b) continue;
      if (iMin < 0 || y[i] < y[iMin]) iMin = i;
      if (iMax < 0 || y[i] > y[iMax]) iMax = i;
    }
    if (iMin >= 0) {
      expect(set.has(iMin)).toBe(true);
      expect(set.has(iMax)).toBe(true);
    }
  }
}

describe('min/max downsampling', () => {
  it('keeps each bucket\'s minimum and maximum, the first and the last point', () => {
    const { x, y } = noisy(20_000);
    const kept = minMaxDownsample(x, y, 100);
    expect(kept.length).toBeLessThanOrEqual(4 * 100);
    expect(kept.length).toBeGreaterThan(200);
    expect(kept[0]).toBe(0);
    expect(kept[kept.length - 1]).toBe(x.length - 1);
    for (let i = 1; i < kept.length; i++) expect(kept[i]).toBeGreaterThan(kept[i - 1]);
    checkBuckets(x, y, kept, 100, x[0], x[x.length - 1]);
    // every spike survives
    for (let i = 0; i < x.length; i += 997) expect(kept.includes(i)).toBe(true);
  });
  it('recomputes for a visible range, with one point beyond each end', () => {
    const { x, y } = noisy(20_000);
    const lo = 100_010;
    const hi = 150_000;
    const kept = minMaxDownsample(x, y, 50, [lo, hi]);
    checkBuckets(x, y, kept, 50, lo, hi);
    expect(x[kept[0]]).toBeLessThan(lo);
    expect(x[kept[1]]).toBeGreaterThanOrEqual(lo);
    expect(x[kept[kept.length - 1]]).toBeGreaterThan(hi);
    expect(x[kept[kept.length - 2]]).toBeLessThanOrEqual(hi);
  });
  it('keeps a non-finite point so the gap stays visible, and everything when points are few', () => {
    const { x, y } = noisy(20_000);
    y[12_345] = NaN;
    expect(minMaxDownsample(x, y, 100).includes(12_345)).toBe(true);
    expect(Array.from(minMaxDownsample(x.subarray(0, 30), y.subarray(0, 30), 100))).toEqual(Array.from({ length: 30 }, (_, i) => i));
  });
});

function run(id: string, lr: number, opts: { diverge?: boolean } = {}): ChartRun {
  const n = 500;
  const step = Float64Array.from({ length: n }, (_, i) => i * 10);
  const y = Float64Array.from({ length: n }, (_, i) => 2 + 6 * Math.exp(-i / (50 / lr / 1000)) + 0.05 * Math.sin(i));
  if (opts.diverge) y.fill(NaN, 400);
  const ev = { step: Float64Array.from([0, 2500, 4990]), tokens: Float64Array.from([0, 1, 2]), elapsed_s: Float64Array.from([0, 1, 2]), y: Float64Array.from([8, 3, 2.1]) };
  return {
    id, name: id, state: opts.diverge ? 'diverged' : 'done', keys: { 'optimizer.lr': lr },
    metrics: { loss: { step, tokens: step, elapsed_s: step, y }, val_loss: ev },
  };
}

describe('chart options', () => {
  it('one smoothed + one faint raw series per run and metric, smoothing named in the legend, target line, diverged marked', () => {
    const runs = [run('b', 3e-3, { diverge: true }), run('a', 1e-3), run('c', 1e-2)];
    const opt = buildChartOptions(runs, { metrics: ['loss', 'val_loss'], colorBy: 'optimizer.lr' }, { widthPx: 400 });
    const series = opt.series as Array<Record<string, any>>; // eslint-disable-line @typescript-eslint/no-explicit-any -- ECharts' series union, inspected loosely in a test
    const legend = ((opt.legend as { data: Array<{ name: string }> }).data).map((d) => d.name);
    expect(legend[0]).toMatch(/^smoothing: EMA 0\.6/);
    expect(legend).toContain('target 1.45');
    // sorted by lr: a (1e-3), b (3e-3), c (1e-2); val loss is never smoothed (no raw twin)
    expect(legend.slice(1, 7)).toEqual([
      'a · train loss [lr=0.001]', 'a · val loss [lr=0.001]', 'b · train loss [lr=0.003] (diverged)', 'b · val loss [lr=0.003] (diverged)',
      'c · train loss [lr=0.01]', 'c · val loss [lr=0.01]',
    ]);
    const trainA = series.filter((s) => s.name === 'a · train loss [lr=0.001]');
    expect(trainA).toHaveLength(2);
    expect(trainA[1].lineStyle.opacity).toBeLessThan(0.5);
    expect(series.filter((s) => s.name === 'a · val loss [lr=0.001]')).toHaveLength(1);
    const diverged = series.find((s) => s.name === 'b · train loss [lr=0.003] (diverged)' && s.markPoint);
    expect(diverged?.markPoint.data[0].coord[0]).toBe(3990);
    // colour by rank on the sequential scale: the three runs get three colours, a and c the ends
    const colors = ['a', 'b', 'c'].map((id) => series.find((s) => s.name?.startsWith(`${id} · train`))?.lineStyle.color);
    expect(new Set(colors).size).toBe(3);
    expect(colors[0]).toBe('#440154');
    // downsampled to the pixel width: at most 4 points per bucket
    expect(trainA[0].data.length).toBeLessThanOrEqual(4 * 400 + 2);
  });
  it('log y-axis drops values ≤ 0; smoothing is computed once on full resolution (same at any zoom)', () => {
    const p = prepareChart([run('a', 1e-3)], { metrics: ['loss'], yScale: 'log', x: 'step' });
    const full = p.curves[0].smoothed;
    expect(full).not.toBeNull();
    const zoomed = buildChartOptions([run('a', 1e-3)], { metrics: ['loss'], yScale: 'log' }, { range: [1000, 2000], widthPx: 100 });
    expect((zoomed.yAxis as { type: string }).type).toBe('log');
    const data = ((zoomed.series as Array<{ name?: string; data: Array<[number, number | null]> }>)[1]).data;
    for (const [x, yv] of data) expect(yv).toBeCloseTo(full![x / 10], 12);
  });
});
