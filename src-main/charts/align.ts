/**
 * Aligning curves logged on different grids (train every 20 steps, eval every 500; runs at other rates) on one x
 * grid: the sorted union of every curve's x, each curve's value where it has a point and a gap elsewhere. Charts
 * need no alignment (ECharts draws [x, y] pairs on a value axis); tables and the CSV do. Pure.
 */
import { lowerBound } from './downsample';

export interface Aligned {
  /** Sorted, unique x values of all curves (within `range` when given). */
  x: Float64Array;
  /** Per curve: for each x, the index of the curve's point at that x, or -1 where it has none. */
  index: Int32Array[];
}

/** Union grid of `xs` (each non-decreasing); a curve with two points at one x maps it to the later one. */
export function alignOnUnion(xs: readonly ArrayLike<number>[], range?: [number, number]): Aligned {
  const all: number[] = [];
  for (const x of xs) for (let i = 0; i < x.length; i++) if (!range || (x[i] >= range[0] && x[i] <= range[1])) all.push(x[i]);
  all.sort((a, b) => a - b);
  const grid: number[] = [];
  for (const v of all) if (grid.length === 0 || grid[grid.length - 1] !== v) grid.push(v);
  const x = Float64Array.from(grid);
  const index = xs.map((cx) => {
    const out = new Int32Array(x.length).fill(-1);
    let j = 0;
    for (let i = 0; i < cx.length; i++) {
      if (range && (cx[i] < range[0] || cx[i] > range[1])) continue;
      j = lowerBound(x, cx[i]); // exact: cx[i] is in the grid
      out[j] = i;
    }
    return out;
  });
  return { x, index };
}
