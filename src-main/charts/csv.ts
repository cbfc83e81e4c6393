/**
 * CSV of what a chart plots, at full resolution, for re-plotting elsewhere (pandas: `pd.read_csv(path)`): the
 * x-axis column in its own units (step, elapsed_s or tokens), then per curve its raw value and, when the curve is
 * smoothed, its smoothed value, all on the union of the curves' x grids (alignment). An empty cell: the curve has
 * no point at that x; "nan": it logged a non-finite value there. Pure.
 */
import { alignOnUnion } from './align';
import type { PreparedChart } from './options';

function cell(v: string): string {
  return /[",\n\r]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

function num(v: number): string {
  return Number.isFinite(v) ? String(v) : Number.isNaN(v) ? 'nan' : v > 0 ? 'inf' : '-inf';
}

/** The CSV text (header + one row per x). `range` limits it to the visible x-range (x-axis units). */
export function chartCsv(prepared: PreparedChart, opts: { range?: [number, number] } = {}): string {
  const { curves, spec } = prepared;
  const aligned = alignOnUnion(curves.map((c) => c.x), opts.range);
  const header: string[] = [spec.x];
  for (const c of curves) {
    header.push(`${c.label} raw`);
    if (c.smoothed) header.push(`${c.label} smoothed`);
  }
  const lines = [header.map(cell).join(',')];
  const row: string[] = [];
  for (let r = 0; r < aligned.x.length; r++) {
    row.length = 0;
    row.push(num(aligned.x[r]));
    curves.forEach((c, ci) => {
      const i = aligned.index[ci][r];
      row.push(i < 0 ? '' : num(c.raw[i]));
      if (c.smoothed) row.push(i < 0 ? '' : num(c.smoothed[i]));
    });
    lines.push(row.join(','));
  }
  return `${lines.join('\n')}\n`;
}
