/**
 * Curve smoothing, always on the full-resolution series (before downsampling), so what a chart shows does not change
 * with zoom or with the number of points drawn. Three kinds: TensorBoard's debiased EMA (exactly its formula), a
 * time-weighted EMA whose decay follows the x-distance (one curve logged at two rates smooths alike), and a centred
 * moving average. Everywhere: non-finite values pass through unchanged and are skipped by the filter; a constant
 * series is returned as is. Pure.
 */
import { UserError } from '../util/errors';
import type { Smoothing } from './types';

function checkWeight(weight: number, kind: string): void {
  if (!(weight >= 0 && weight < 1)) {
    throw new UserError(`${kind} smoothing weight must be in [0, 1), got ${weight}`, { code: 'INVALID_ARGUMENT', data: { kind, weight } });
  }
}

/** TensorBoard's rule (#786): a series whose values all equal the first one is not smoothed. */
function isConstant(y: ArrayLike<number>): boolean {
  for (let i = 1; i < y.length; i++) if (y[i] !== y[0]) return false; // NaN never equals: a series with NaN is not constant, as in TensorBoard
  return true;
}

/**
 * TensorBoard's smoothing, exactly (tensorboard/webapp/widgets/line_chart_v2 and vz_line_chart2 `resmoothDataset`):
 * `last = 0`; for each finite y: `last = w·last + (1−w)·y`, n += 1, output `last / (1 − wⁿ)`; a non-finite y is
 * output unchanged and does not count; a constant series is output unchanged.
 */
export function emaDebiased(y: ArrayLike<number>, weight: number): Float64Array {
  checkWeight(weight, 'EMA');
  const out = new Float64Array(y.length);
  if (isConstant(y)) {
    for (let i = 0; i < y.length; i++) out[i] = y[i];
    return out;
  }
  let last = 0;
  let n = 0;
  for (let i = 0; i < y.length; i++) {
    const v = y[i];
    if (!Number.isFinite(v)) {
      out[i] = v;
      continue;
    }
    last = last * weight + (1 - weight) * v;
    n++;
    out[i] = last / (1 - Math.pow(weight, n));
  }
  return out;
}

/**
 * Time-weighted EMA: the continuous-time exponential filter `τ·s' = y − s` applied to the piecewise-linear curve
 * through the finite points, with time constant τ = −unit / ln(weight) (weight = the decay over one `unit` of x),
 * debiased like TensorBoard's by running the same filter on the constant 1 and dividing. The first finite point
 * counts as held for one unit before it (so, on points one unit apart, the first output is y₀ as in TensorBoard).
 * Because each segment is integrated exactly, the output depends on the curve, not on how densely it was logged:
 * a curve logged every 20 steps and the same curve logged every 500 agree where both have points (exactly when
 * the curve is linear between the coarse points, and closely otherwise).
 */
export function timeWeightedEma(x: ArrayLike<number>, y: ArrayLike<number>, weight: number, unit: number): Float64Array {
  checkWeight(weight, 'time-weighted EMA');
  if (!(unit > 0) || !Number.isFinite(unit)) throw new UserError(`time-weighted EMA unit must be a positive number, got ${unit}`, { code: 'INVALID_ARGUMENT', data: { unit } });
  const out = new Float64Array(y.length);
  if (weight === 0 || isConstant(y)) {
    for (let i = 0; i < y.length; i++) out[i] = y[i];
    return out;
  }
  const tau = -unit / Math.log(weight);
  let s = 0;
  let norm = 0;
  let px = NaN;
  let py = NaN;
  for (let i = 0; i < y.length; i++) {
    const v = y[i];
    const xi = x[i];
    if (!Number.isFinite(v) || !Number.isFinite(xi)) {
      out[i] = v;
      continue;
    }
    if (Number.isNaN(px)) {
      // First finite point: as if held at y₀ for one unit (decay `weight`).
      s = (1 - weight) * v;
      norm = 1 - weight;
    } else {
      const dx = xi - px;
      if (dx > 0) {
        const oneMinusA = -Math.expm1(-dx / tau); // 1 − a, accurate for small dx/τ
        const a = 1 - oneMinusA;
        const g = (tau * oneMinusA) / dx; // ∫ of the kernel times the linear ramp, over dx
        s = a * s + (1 - g) * v + (g - a) * py;
        norm = a * norm + oneMinusA;
      }
      // dx = 0 (the same x logged twice): no time passes, so nothing is added; the newer value starts the next segment.
    }
    px = xi;
    py = v;
    out[i] = s / norm;
  }
  return out;
}

/** Centred moving average over `window` finite points around each point (odd window; truncated at the ends). */
export function centredMovingAverage(y: ArrayLike<number>, window: number): Float64Array {
  if (!(Number.isInteger(window) && window >= 1)) throw new UserError(`moving-average window must be a positive integer, got ${window}`, { code: 'INVALID_ARGUMENT', data: { window } });
  const out = new Float64Array(y.length);
  const half = Math.floor(window / 2);
  // Indices of the finite points; the average runs over neighbours in that list, so gaps do not shrink it.
  const idx: number[] = [];
  for (let i = 0; i < y.length; i++) if (Number.isFinite(y[i])) idx.push(i);
  for (let i = 0; i < y.length; i++) out[i] = y[i];
  if (isConstant(y) || half === 0) return out;
  // Prefix sums over the finite values.
  const pre = new Float64Array(idx.length + 1);
  for (let k = 0; k < idx.length; k++) pre[k + 1] = pre[k] + y[idx[k]];
  for (let k = 0; k < idx.length; k++) {
    const lo = Math.max(0, k - half);
    const hi = Math.min(idx.length - 1, k + half);
    out[idx[k]] = (pre[hi + 1] - pre[lo]) / (hi - lo + 1);
  }
  return out;
}

/** Applies a smoothing; `x` and `unit` are used by the time-weighted EMA only. Returns a new array. */
export function smooth(x: ArrayLike<number>, y: ArrayLike<number>, smoothing: Smoothing, unit = 1): Float64Array {
  switch (smoothing.kind) {
    case 'none':
      return Float64Array.from(y as ArrayLike<number>);
    case 'ema':
      return emaDebiased(y, smoothing.weight);
    case 'time-ema':
      return timeWeightedEma(x, y, smoothing.weight, unit);
    case 'moving-average':
      return centredMovingAverage(y, smoothing.window % 2 === 0 ? smoothing.window + 1 : smoothing.window);
  }
}

/** How legends and captions name a smoothing: "EMA 0.6", "time-weighted EMA 0.9", "moving average 21", "no smoothing". */
export function describeSmoothing(smoothing: Smoothing): string {
  switch (smoothing.kind) {
    case 'none':
      return 'no smoothing';
    case 'ema':
      return `EMA ${smoothing.weight} (TensorBoard, debiased)`;
    case 'time-ema':
      return `time-weighted EMA ${smoothing.weight}`;
    case 'moving-average':
      return `centred moving average ${smoothing.window % 2 === 0 ? smoothing.window + 1 : smoothing.window} pts`;
  }
}

/**
 * Parses "ema:0.6", "time-ema:0.9", "ma:21" / "moving-average:21", "none" (for front ends' options and saved views).
 * A bare number is a TensorBoard EMA weight.
 */
export function parseSmoothing(text: string): Smoothing {
  const t = text.trim().toLowerCase();
  const bad = () => new UserError(`smoothing "${text}" is not one of none, ema:W, time-ema:W, ma:N (W in [0, 1), N a positive integer)`, { code: 'INVALID_ARGUMENT', data: { smoothing: text } });
  if (t === 'none' || t === 'off') return { kind: 'none' };
  const [kind, arg] = t.includes(':') ? t.split(':', 2) : /^[\d.]+$/.test(t) ? ['ema', t] : [t, ''];
  const n = Number(arg);
  if (arg === '' || !Number.isFinite(n)) {
    if (kind === 'ema' && arg === '') return { kind: 'ema', weight: 0.6 };
    throw bad();
  }
  let s: Smoothing;
  if (kind === 'ema') s = { kind: 'ema', weight: n };
  else if (kind === 'time-ema' || kind === 'tema') s = { kind: 'time-ema', weight: n };
  else if (kind === 'ma' || kind === 'moving-average') s = { kind: 'moving-average', window: n };
  else throw bad();
  if (s.kind === 'moving-average' ? !(Number.isInteger(n) && n >= 1) : !(n >= 0 && n < 1)) throw bad();
  return s;
}
