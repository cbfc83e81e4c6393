/**
 * Aligning curves logged on different grids (train every 20 steps, eval every 500; runs at other rates) on one x
 * grid: the sorted union of every curve's x, each curve's value where it has a point and a gap elsewhere. Charts
 * need no alignment (ECharts draws [x, y] pairs on a value axis); tables and the CSV do. Pure.
 */
export interface Aligned {
  /** Sorted, unique x values of all curves (within `range` when given). */
  x: Float64Array;
  /** Per curve: for each x, the index of the curve's point at that x, or -1 where it has none. */
  index: Int32Array[];
}

/** Union grid of `xs` (each non-decreasing); a curve with two points at one x maps it to the later one. */
export function alignOnUnion(xs: readonly ArrayLike<number>[], range?: [number, number]): Aligned {
  const inRange = (v: number) => !range || (v >= range[0] && v <= range[1]);
  // k-way union by successive linear merges of sorted, de-duplicated arrays (no global sort).
  let grid = new Float64Array(0);
  for (const cx of xs) {
    const merged = new Float64Array(grid.length + cx.length);
    let n = 0;
    let i = 0;
    let j = 0;
    const push = (v: number) => {
      if (n === 0 || merged[n - 1] !== v) merged[n++] = v;
    };
    while (i < grid.length || j < cx.length) {
      if (j < cx.length && !inRange(cx[j])) {
        j++;
        continue;
      }
      if (j >= cx.length || (i < grid.length && grid[i] <= cx[j])) push(grid[i++]);
      else push(cx[j++]);
    }
    grid = merged.slice(0, n);
  }
  const index = xs.map((cx) => {
    const out = new Int32Array(grid.length).fill(-1);
    let g = 0;
    for (let i = 0; i < cx.length; i++) {
      if (!inRange(cx[i])) continue;
      while (grid[g] < cx[i]) g++; // cx[i] is in the grid; x non-decreasing
      out[g] = i;
    }
    return out;
  });
  return { x: grid, index };
}
