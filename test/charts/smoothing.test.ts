// Smoothing against hand-computed values: TensorBoard's debiased EMA (non-finite pass-through, constant series),
// the time-weighted EMA's exact segment integral and its independence of the logging rate, the centred average.
import { describe, expect, it } from 'vitest';
import { centredMovingAverage, emaDebiased, parseSmoothing, timeWeightedEma } from '../../src-main/charts/index';

describe('TensorBoard EMA', () => {
  it('matches last = w·last + (1−w)·y, last / (1 − wⁿ) over finite points, by hand', () => {
    // w = 0.6: last 0.4 → 0.4/0.4 = 1; last 0.24 + 0.8 = 1.04 → 1.04/0.64 = 1.625; NaN passes (n stays 2);
    // last 0.624 + 1.2 = 1.824 → 1.824/(1 − 0.216) = 2.326530612244898
    const out = emaDebiased([1, 2, NaN, 3], 0.6);
    expect(out[0]).toBeCloseTo(1, 15);
    expect(out[1]).toBeCloseTo(1.625, 15);
    expect(Number.isNaN(out[2])).toBe(true);
    expect(out[3]).toBeCloseTo(1.824 / 0.784, 14);
    // w = 0.9 on [0, 10]: 0/0.1 = 0; (0.9·0 + 1)/(1 − 0.81) = 5.2631578947…
    expect(Array.from(emaDebiased([0, 10], 0.9))).toEqual([0, 1 / 0.19]);
  });
  it('passes ±Infinity through and does not count it', () => {
    const out = emaDebiased([4, Infinity, -Infinity, 4], 0.5);
    expect(out[1]).toBe(Infinity);
    expect(out[2]).toBe(-Infinity);
    // n = 2 at the last point: (0.5·2 + 2)/(1 − 0.25) = 4
    expect(out[3]).toBeCloseTo(4, 15);
  });
  it('leaves a constant series as is and weight 0 as identity; rejects weight 1', () => {
    expect(Array.from(emaDebiased([2.5, 2.5, 2.5], 0.99))).toEqual([2.5, 2.5, 2.5]);
    expect(Array.from(emaDebiased([3, 1, 2], 0))).toEqual([3, 1, 2]);
    expect(() => emaDebiased([1, 2], 1)).toThrow(/\[0, 1\)/);
  });
});

describe('time-weighted EMA', () => {
  it('integrates the linear segment exactly (hand-computed)', () => {
    // x = [0, 1], y = [0, 1], w = 0.5, unit 1: τ = 1/ln 2. First point: s = 0.5·0, norm 0.5.
    // Segment: s = ∫₀¹ (1/τ) e^{−(1−t)/τ} t dt = 1 − τ(1 − 0.5); norm = 0.25 + 0.5.
    const tau = 1 / Math.LN2;
    const out = timeWeightedEma([0, 1], [0, 1], 0.5, 1);
    expect(out[0]).toBe(0);
    expect(out[1]).toBeCloseTo((1 - tau * 0.5) / 0.75, 14);
  });
  it('gives the same curve for one curve logged at two rates (and the step EMA does not)', () => {
    // A noisy curve logged every 10 steps, and the same curve logged every step (linear between the coarse points).
    const coarseX: number[] = [];
    const coarseY: number[] = [];
    for (let i = 0; i <= 100; i++) {
      coarseX.push(i * 10);
      coarseY.push(3 + 5 * Math.exp(-i / 20) + (((i * 7919) % 13) - 6) * 0.05);
    }
    const fineX: number[] = [];
    const fineY: number[] = [];
    for (let s = 0; s <= 1000; s++) {
      const i = Math.min(99, Math.floor(s / 10));
      const f = (s - coarseX[i]) / 10;
      fineX.push(s);
      fineY.push(coarseY[i] + (coarseY[i + 1] - coarseY[i]) * f);
    }
    const unit = 1000 / 1000;
    const c = timeWeightedEma(coarseX, coarseY, 0.95, unit);
    const f = timeWeightedEma(fineX, fineY, 0.95, unit);
    for (let i = 0; i <= 100; i++) expect(f[i * 10]).toBeCloseTo(c[i], 10);
    // The per-point EMA at the same weight smooths the coarse curve 10× less: far apart.
    const ec = emaDebiased(coarseY, 0.95);
    const ef = emaDebiased(fineY, 0.95);
    expect(Math.abs(ef[500] - ec[50])).toBeGreaterThan(0.05);
  });
  it('a smooth curve logged at two rates agrees closely', () => {
    const fn = (x: number) => 1.5 + 6 * Math.exp(-x / 300); // a loss curve
    const mk = (dx: number) => {
      const x: number[] = [];
      for (let v = 0; v <= 2000; v += dx) x.push(v);
      return { x, y: x.map(fn) };
    };
    const a = mk(5);
    const b = mk(100);
    const sa = timeWeightedEma(a.x, a.y, 0.99, 2);
    const sb = timeWeightedEma(b.x, b.y, 0.99, 2);
    for (let k = 1; k < b.x.length; k++) expect(Math.abs(sa[k * 20] - sb[k])).toBeLessThan(0.06);
    // (the bound is the coarse curve's own chord error, ≈ dx²·f''/12 ≈ 0.055 near the start; the test above is exact)
    // while the per-point EMA differs by far more
    expect(Math.abs(emaDebiased(a.y, 0.99)[200] - emaDebiased(b.y, 0.99)[10])).toBeGreaterThan(0.5);
  });
  it('passes non-finite values through and leaves a constant series as is', () => {
    const out = timeWeightedEma([0, 1, 2, 3], [1, NaN, 2, Infinity], 0.5, 1);
    expect(Number.isNaN(out[1])).toBe(true);
    expect(out[3]).toBe(Infinity);
    expect(Array.from(timeWeightedEma([0, 5, 9], [7, 7, 7], 0.9, 1))).toEqual([7, 7, 7]);
  });
});

describe('centred moving average', () => {
  it('averages over the window of finite neighbours, truncated at the ends', () => {
    const out = centredMovingAverage([1, 2, NaN, 3, 10], 3);
    expect(Array.from(out).map((v) => (Number.isNaN(v) ? 'nan' : v))).toEqual([1.5, 2, 'nan', 5, 6.5]);
  });
});

describe('parseSmoothing', () => {
  it('reads the front ends\' notation and rejects bad input', () => {
    expect(parseSmoothing('ema:0.9')).toEqual({ kind: 'ema', weight: 0.9 });
    expect(parseSmoothing('0.6')).toEqual({ kind: 'ema', weight: 0.6 });
    expect(parseSmoothing('time-ema:0.8')).toEqual({ kind: 'time-ema', weight: 0.8 });
    expect(parseSmoothing('ma:21')).toEqual({ kind: 'moving-average', window: 21 });
    expect(parseSmoothing('none')).toEqual({ kind: 'none' });
    expect(() => parseSmoothing('ema:1.5')).toThrow(/smoothing/);
    expect(() => parseSmoothing('gauss:3')).toThrow(/smoothing/);
  });
});
