/**
 * The learning-curve chart builder: ECharts options from runs (one series per run and metric). Two stages, so a zoom
 * costs only a re-downsampling: `prepareChart` smooths every series once at full resolution and fixes colours and
 * names; `buildChartOption` downsamples each curve for the visible x-range and pixel width (min/max per bucket) and
 * emits the option. `buildChartOptions` does both. The option is plain JSON (no functions), so it can cross IPC,
 * be saved, or be rendered on the server (export.ts). Pure: no DOM, no node:.
 */
import type { EChartsOption, LineSeriesOption } from 'echarts';
import { assignColors } from './colors';
import { minMaxDownsample } from './downsample';
import { describeSmoothing, smooth } from './smoothing';
import {
  DEFAULT_SMOOTHING, DEFAULT_TARGET_LOSS, X_AXIS_LABELS, metricLabel,
  type ChartRun, type ChartSpec, type ChartView, type MetricKey, type Smoothing, type XAxisKind,
} from './types';

export type ChartOption = EChartsOption;

/** ChartSpec with every default filled in. */
export interface ResolvedSpec {
  metrics: MetricKey[];
  x: XAxisKind;
  yScale: 'linear' | 'log';
  smoothing: Smoothing;
  unsmoothed: MetricKey[];
  target: number | null;
  colorBy?: string;
  showRaw: boolean;
  title?: string;
  interactive: boolean;
  fontFamily: string;
}

/** One drawn curve (a run's metric) at full resolution, smoothed. */
export interface PreparedCurve {
  runId: string;
  runName: string;
  metric: MetricKey;
  /** Legend name (shared by the raw and the smoothed line, so one legend click toggles both). */
  label: string;
  color: string;
  lineType: 'solid' | 'dashed' | 'dotted';
  diverged: boolean;
  /** The colour key's value for this run (colorBy), when set. */
  colorValue?: unknown;
  /** x in the x-axis' own units (steps, seconds, tokens), non-decreasing. */
  x: Float64Array;
  raw: Float64Array;
  /** Smoothed values (same length as raw), or null when this metric is drawn unsmoothed. */
  smoothed: Float64Array | null;
}

/** What `prepareChart` returns: everything but the downsampling. */
export interface PreparedChart {
  spec: ResolvedSpec;
  curves: PreparedCurve[];
  /** Full x-extent over all curves (x-axis units); [0, 0] when there is no point. */
  xExtent: [number, number];
  /** x is shown divided by this, under this axis title (e.g. seconds shown as minutes: 60, "wall-clock (min)"). */
  xScale: { divisor: number; title: string };
  yTitle: string;
  /** "EMA 0.6 (TensorBoard, debiased)" and the like: what the legend names. */
  smoothingLabel: string;
  /** The time-weighted EMA's unit (1/1000 of xExtent); 1 otherwise. */
  smoothingUnit: number;
}

const LOSS_METRICS = new Set(['loss', 'val_loss']);
const DEFAULT_UNSMOOTHED = ['val_loss', 'val_ppl', 'lr', 'loss_scale'];
const LINE_TYPES = ['solid', 'dashed', 'dotted'] as const;

/** Fills in a spec's defaults (see ChartSpec). */
export function resolveSpec(spec: ChartSpec): ResolvedSpec {
  const metrics = spec.metrics.length ? [...spec.metrics] : ['loss'];
  return {
    metrics,
    x: spec.x ?? 'step',
    yScale: spec.yScale ?? 'linear',
    smoothing: spec.smoothing ?? DEFAULT_SMOOTHING,
    unsmoothed: spec.unsmoothed ?? DEFAULT_UNSMOOTHED,
    target: spec.target !== undefined ? spec.target : metrics.some((m) => LOSS_METRICS.has(m)) ? DEFAULT_TARGET_LOSS : null,
    colorBy: spec.colorBy,
    showRaw: spec.showRaw ?? true,
    title: spec.title,
    interactive: spec.interactive ?? false,
    fontFamily: spec.fontFamily ?? 'DejaVu Sans, sans-serif',
  };
}

/** A run diverged when its status says so or its train loss ends in a non-finite value. */
export function isDiverged(run: ChartRun): boolean {
  if (run.state === 'diverged') return true;
  const loss = run.metrics.loss?.y;
  return !!loss && loss.length > 0 && !Number.isFinite(loss[loss.length - 1]);
}

/** Short text for a swept value in a legend ("0.001", "3e-4", "adamw"). */
export function formatValue(v: unknown): string {
  if (typeof v === 'number') return Number.isInteger(v) || (Math.abs(v) >= 1e-3 && Math.abs(v) < 1e6) ? String(+v.toPrecision(6)) : v.toExponential(2).replace(/\.?0+e/, 'e');
  if (typeof v === 'string') return v;
  return JSON.stringify(v) ?? 'undefined';
}

function xScaleFor(x: XAxisKind, max: number): { divisor: number; title: string } {
  if (x === 'elapsed_s') {
    if (max >= 2 * 3600) return { divisor: 3600, title: 'wall-clock (h)' };
    if (max >= 120) return { divisor: 60, title: 'wall-clock (min)' };
    return { divisor: 1, title: 'wall-clock (s)' };
  }
  if (x === 'tokens') {
    if (max >= 1e9) return { divisor: 1e9, title: 'tokens (billions)' };
    if (max >= 1e6) return { divisor: 1e6, title: 'tokens (millions)' };
    if (max >= 1e3) return { divisor: 1e3, title: 'tokens (thousands)' };
    return { divisor: 1, title: 'tokens' };
  }
  return { divisor: 1, title: X_AXIS_LABELS.step };
}

/** Smooths every run × metric at full resolution and fixes names and colours. */
export function prepareChart(runs: readonly ChartRun[], chartSpec: ChartSpec): PreparedChart {
  const spec = resolveSpec(chartSpec);
  // Order runs by the colour key (numbers ascending) so legends read along the colour scale.
  let ordered = [...runs];
  const cv = (r: ChartRun) => (spec.colorBy ? r.keys?.[spec.colorBy] : undefined);
  if (spec.colorBy && ordered.every((r) => typeof cv(r) === 'number')) ordered = ordered.sort((a, b) => (cv(a) as number) - (cv(b) as number));
  const colors = assignColors(ordered.length, spec.colorBy ? ordered.map(cv) : undefined);
  const shortKey = spec.colorBy?.split('.').pop();

  let lo = Infinity;
  let hi = -Infinity;
  const pending: Array<Omit<PreparedCurve, 'smoothed'> & { smooth: boolean }> = [];
  ordered.forEach((run, ri) => {
    const diverged = isDiverged(run);
    spec.metrics.forEach((metric, mi) => {
      const s = run.metrics[metric];
      if (!s || s.y.length === 0) return;
      const x = Float64Array.from(s[spec.x]);
      const raw = Float64Array.from(s.y);
      if (x.length) {
        lo = Math.min(lo, x[0]);
        hi = Math.max(hi, x[x.length - 1]);
      }
      let label = run.name;
      if (spec.metrics.length > 1) label += ` · ${metricLabel(metric)}`;
      if (spec.colorBy) label += ` [${shortKey}=${formatValue(cv(run))}]`;
      if (diverged) label += ' (diverged)';
      pending.push({
        runId: run.id, runName: run.name, metric, label, color: colors[ri], lineType: LINE_TYPES[mi % LINE_TYPES.length], diverged,
        colorValue: cv(run), x, raw, smooth: spec.smoothing.kind !== 'none' && !spec.unsmoothed.includes(metric),
      });
    });
  });
  const xExtent: [number, number] = Number.isFinite(lo) ? [lo, hi] : [0, 0];
  const smoothingUnit = hi > lo ? (hi - lo) / 1000 : 1;
  const curves = pending.map(({ smooth: doSmooth, ...c }) => ({ ...c, smoothed: doSmooth ? smooth(c.x, c.raw, spec.smoothing, smoothingUnit) : null }));
  return {
    spec,
    curves,
    xExtent,
    xScale: xScaleFor(spec.x, xExtent[1]),
    yTitle: [...new Set(spec.metrics.map((m) => (LOSS_METRICS.has(m) ? 'loss' : metricLabel(m))))].join(', '),
    smoothingLabel: describeSmoothing(spec.smoothing),
    smoothingUnit,
  };
}

type Pair = [number, number | null];

function pairs(x: Float64Array, y: Float64Array, idx: Uint32Array, divisor: number, log: boolean): Pair[] {
  const out: Pair[] = new Array(idx.length);
  for (let k = 0; k < idx.length; k++) {
    const i = idx[k];
    const v = y[i];
    out[k] = [x[i] / divisor, Number.isFinite(v) && (!log || v > 0) ? v : null];
  }
  return out;
}

/** Legend rows a horizontal legend needs at this width (an estimate: DejaVu Sans at 12 px averages ~7 px a glyph). */
function legendRows(names: string[], widthPx: number): number {
  let rows = 1;
  let used = 0;
  const avail = Math.max(100, widthPx - 40);
  for (const n of names) {
    const w = 25 + 5 + n.length * 7 + 10;
    if (used > 0 && used + w > avail) {
      rows++;
      used = 0;
    }
    used += w;
  }
  return rows;
}

/**
 * The ECharts option for a prepared chart's visible range: each curve downsampled to `widthPx` buckets (min/max per
 * bucket), the raw curve faint under the smoothed one, a dashed target line, diverged runs marked where they end.
 */
export function buildChartOption(prepared: PreparedChart, view: ChartView = {}): ChartOption {
  const { spec, curves, xScale } = prepared;
  const width = Math.max(50, Math.round(view.widthPx ?? 1000));
  const range: [number, number] = view.range ?? prepared.xExtent;
  const d = xScale.divisor;
  const log = spec.yScale === 'log';
  const series: LineSeriesOption[] = [];
  const legend: Array<{ name: string; icon?: string }> = [];

  // The smoothing's name, first in the legend (an empty series: ECharts legends list series only).
  const anySmoothed = curves.some((c) => c.smoothed);
  if (anySmoothed) {
    const name = `smoothing: ${prepared.smoothingLabel}${spec.showRaw ? '; raw faint' : ''}`;
    series.push({ type: 'line', name, data: [], silent: true });
    legend.push({ name, icon: 'none' });
  }

  for (const c of curves) {
    legend.push({ name: c.label });
    const main = c.smoothed ?? c.raw;
    const idx = minMaxDownsample(c.x, main, width, range);
    const few = c.x.length <= 60;
    const s: LineSeriesOption = {
      type: 'line', name: c.label, data: pairs(c.x, main, idx, d, log),
      showSymbol: few, symbol: few ? 'circle' : 'none', symbolSize: 4, z: 3, connectNulls: false,
      lineStyle: { width: 1.8, color: c.color, type: c.lineType }, itemStyle: { color: c.color },
    };
    if (c.diverged) {
      // Mark the last finite point: where the run left the chart.
      let k = main.length - 1;
      while (k >= 0 && !(Number.isFinite(main[k]) && (!log || main[k] > 0))) k--;
      if (k >= 0 && c.x[k] >= range[0] && c.x[k] <= range[1]) {
        s.markPoint = {
          symbol: 'triangle', symbolSize: 9, symbolRotate: 180, silent: true,
          itemStyle: { color: '#c00000' },
          label: { show: true, position: 'top', formatter: 'diverged', color: '#c00000', fontSize: 10 },
          data: [{ name: 'diverged', coord: [c.x[k] / d, main[k]] }],
        };
      }
    }
    series.push(s);
    // The raw curve after the smoothed one (so the legend takes the solid colour), drawn beneath it (z).
    if (c.smoothed && spec.showRaw) {
      series.push({
        type: 'line', name: c.label, data: pairs(c.x, c.raw, minMaxDownsample(c.x, c.raw, width, range), d, log),
        showSymbol: false, symbol: 'none', silent: true, z: 1, connectNulls: false, animation: false,
        lineStyle: { width: 1, color: c.color, opacity: 0.22, type: c.lineType }, itemStyle: { color: c.color },
        emphasis: { disabled: true }, tooltip: { show: false },
      });
    }
  }

  if (spec.target !== null && (!log || spec.target > 0) && range[1] >= range[0]) {
    const name = `target ${spec.target}`;
    legend.push({ name });
    series.push({
      type: 'line', name, data: [[range[0] / d, spec.target], [range[1] / d, spec.target]], silent: true, z: 2,
      symbol: 'none', lineStyle: { width: 1.2, color: '#555555', type: 'dashed' }, itemStyle: { color: '#555555' },
      tooltip: { show: false },
    });
  }

  const rows = spec.interactive ? 1 : legendRows(legend.map((l) => l.name), view.layoutWidthPx ?? width);
  const legendHeight = rows * 20;
  const option: ChartOption = {
    animation: spec.interactive,
    textStyle: { fontFamily: spec.fontFamily, fontSize: 12, color: '#222222' },
    title: spec.title ? { text: spec.title, left: 'center', top: 6, textStyle: { fontFamily: spec.fontFamily, fontSize: 14, fontWeight: 'bold' } } : undefined,
    grid: { left: 72, right: 28, top: spec.title ? 42 : 18, bottom: 50 + legendHeight, containLabel: false },
    legend: {
      type: spec.interactive ? 'scroll' : 'plain', bottom: 6, left: 'center', itemWidth: 25, itemHeight: 10, itemGap: 10,
      textStyle: { fontFamily: spec.fontFamily, fontSize: 12 }, data: legend,
    },
    xAxis: {
      type: 'value', name: xScale.title, nameLocation: 'middle', nameGap: 28,
      nameTextStyle: { fontFamily: spec.fontFamily, fontSize: 12 },
      min: view.range ? range[0] / d : range[0] >= 0 && range[0] <= 0.05 * (range[1] - range[0]) ? 0 : range[0] / d,
      max: range[1] > range[0] ? range[1] / d : undefined,
      splitLine: { show: true, lineStyle: { color: '#e6e6e6' } },
      axisLine: { lineStyle: { color: '#333333' } },
    },
    yAxis: {
      type: log ? 'log' : 'value', name: prepared.yTitle, nameLocation: 'middle', nameGap: 52,
      nameTextStyle: { fontFamily: spec.fontFamily, fontSize: 12 }, scale: true,
      splitLine: { show: true, lineStyle: { color: '#e6e6e6' } },
      axisLine: { show: true, lineStyle: { color: '#333333' } },
    },
    series,
  };
  if (spec.interactive) {
    option.tooltip = { trigger: 'axis', axisPointer: { type: 'line' } };
    option.dataZoom = [{ type: 'inside', xAxisIndex: 0, filterMode: 'none' }];
  }
  return option;
}

/** prepareChart then buildChartOption: the one call for a chart that is drawn once (exports, tests). */
export function buildChartOptions(runs: readonly ChartRun[], spec: ChartSpec, view: ChartView = {}): ChartOption {
  return buildChartOption(prepareChart(runs, spec), view);
}
