/**
 * Downsampling for drawing: per pixel-wide bucket of the visible x-range, keep the first, last, minimum and maximum
 * point (M4: the line drawn through them covers the same pixels as the full series), so every spike survives at any
 * zoom; the first non-finite point of a bucket is kept too, so a gap (a diverged or skipped step) stays visible.
 * Recomputed for each visible range; never LTTB or random sampling. Pure.
 */

/** First index i with x[i] >= v (x non-decreasing); x.length when none. */
export function lowerBound(x: ArrayLike<number>, v: number): number {
  let lo = 0;
  let hi = x.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (x[mid] < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** First index i with x[i] > v; x.length when none. */
export function upperBound(x: ArrayLike<number>, v: number): number {
  let lo = 0;
  let hi = x.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (x[mid] <= v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Indices (ascending, unique) of the points to draw for x in `range` with `buckets` buckets: per bucket its first,
 * last, minimum and maximum finite point and its first non-finite point; plus the nearest point just outside each
 * end of the range (so the line runs to the plot's edges). The first and last point of the range are always kept.
 * When the range holds at most 4 points per bucket every point in it is kept. `x` must be non-decreasing.
 */
export function minMaxDownsample(x: ArrayLike<number>, y: ArrayLike<number>, buckets: number, range?: [number, number]): Uint32Array {
  const n = Math.min(x.length, y.length);
  if (n === 0) return new Uint32Array(0);
  const lo = range ? range[0] : x[0];
  const hi = range ? range[1] : x[n - 1];
  let start = range ? lowerBound(x, lo) : 0;
  let end = range ? upperBound(x, hi) : n; // exclusive
  if (start > 0) start--; // one point before the range
  if (end < n) end++; // one after
  if (start >= end) return new Uint32Array(0);
  const count = end - start;
  const nb = Math.max(1, Math.floor(buckets));
  if (count <= 4 * nb || !(hi > lo)) {
    const all = new Uint32Array(count);
    for (let i = 0; i < count; i++) all[i] = start + i;
    return all;
  }
  const out: number[] = [];
  const span = hi - lo;
  let bucket = -2; // bucket of the current run of points (-1: before the range, nb: after)
  let first = -1;
  let last = -1;
  let iMin = -1;
  let iMax = -1;
  let iBad = -1;
  const flush = () => {
    if (first < 0) return;
    const keep = [first, iMin, iMax, iBad, last].filter((i) => i >= 0).sort((a, b) => a - b);
    for (const i of keep) if (out.length === 0 || out[out.length - 1] !== i) out.push(i);
  };
  for (let i = start; i < end; i++) {
    const xi = x[i];
    const b = xi < lo ? -1 : xi > hi ? nb : Math.min(nb - 1, Math.floor(((xi - lo) / span) * nb));
    if (b !== bucket) {
      flush();
      bucket = b;
      first = i;
      iMin = -1;
      iMax = -1;
      iBad = -1;
    }
    last = i;
    const v = y[i];
    if (Number.isFinite(v)) {
      if (iMin < 0 || v < y[iMin]) iMin = i;
      if (iMax < 0 || v > y[iMax]) iMax = i;
    } else if (iBad < 0) iBad = i;
  }
  flush();
  return Uint32Array.from(out);
}
