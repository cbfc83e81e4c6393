/**
 * The chart builder's input types: what a learning-curve chart is made of (runs, their metric series on three
 * x-axes) and what the caller asks for (metrics, x-axis, y scale, smoothing, target line, colouring). Pure types and
 * constants: no DOM, no node: (the renderer bundles this).
 */
import type { RunState } from '../runs/format';

/** The x-axes a curve can be drawn against: gradient step, training wall-clock seconds, training tokens. */
export type XAxisKind = 'step' | 'elapsed_s' | 'tokens';
export const X_AXIS_KINDS: readonly XAxisKind[] = ['step', 'elapsed_s', 'tokens'];
/** Human names of the x-axes (the axis title adds the unit the builder picks). */
export const X_AXIS_LABELS: Record<XAxisKind, string> = { step: 'step', elapsed_s: 'wall-clock', tokens: 'tokens' };

/**
 * One metric of one run at full resolution, in logging order: parallel arrays, one entry per logged point.
 * `y` holds NaN where the value was non-finite (JSON null in metrics.jsonl). The x arrays are non-decreasing
 * within a run (the trainer logs in order; a resume continues the counters).
 */
export interface MetricSeries {
  step: ArrayLike<number>;
  tokens: ArrayLike<number>;
  elapsed_s: ArrayLike<number>;
  y: ArrayLike<number>;
}

/**
 * Metric names: the train record's `loss`, `lr`, `grad_norm`, `tokens_per_s`, `loss_scale`; the eval record's
 * `val_loss`, `val_ppl`; the diag record's per-group norms as `grad_norm.<group>`, `weight_norm.<group>` and
 * `residual_rms.<layer index>`. Any other string names a series the caller filled in itself.
 */
export type MetricKey = string;
export const METRIC_LABELS: Record<string, string> = {
  loss: 'train loss',
  val_loss: 'val loss',
  val_ppl: 'val perplexity',
  lr: 'learning rate',
  grad_norm: 'grad norm',
  tokens_per_s: 'tokens/s',
  loss_scale: 'loss scale',
};
/** The label a metric shows in legends and axis titles. */
export function metricLabel(key: MetricKey): string {
  return METRIC_LABELS[key] ?? key;
}

/** One run as the chart builder sees it. */
export interface ChartRun {
  /** The run's id (folder name under runs/). */
  id: string;
  /** What legends show (meta.json's name, else the id). */
  name: string;
  /** status.json's state, when known. */
  state?: RunState;
  /** Values of the run's swept keys (meta.json's sweep.keys) and/or its flattened config, by dotted key: what `colorBy` looks up. */
  keys?: Record<string, unknown>;
  /** The run's metric series by metric key (see MetricKey). Missing metrics are simply not drawn. */
  metrics: Record<MetricKey, MetricSeries>;
}

/** Smoothing of a curve, computed on the full-resolution series before any downsampling. */
export type Smoothing =
  | { kind: 'none' }
  /** TensorBoard's debiased exponential moving average; weight in [0, 1), TensorBoard's default 0.6. */
  | { kind: 'ema'; weight: number }
  /**
   * Exponential moving average whose decay follows the x-distance between points, so one curve logged at two rates
   * smooths alike: weight is the decay per 1/1000 of the chart's full x-extent (all runs), in [0, 1).
   */
  | { kind: 'time-ema'; weight: number }
  /** Centred moving average over `window` points (odd; even values grow by one), truncated at the ends. */
  | { kind: 'moving-average'; window: number };
export type SmoothingKind = Smoothing['kind'];
export const SMOOTHING_KINDS: readonly SmoothingKind[] = ['none', 'ema', 'time-ema', 'moving-average'];
/** TensorBoard's default smoothing. */
export const DEFAULT_SMOOTHING: Smoothing = { kind: 'ema', weight: 0.6 };

/** The assignment's target validation loss (CS336 A1 §7: TinyStories, 1.45). */
export const DEFAULT_TARGET_LOSS = 1.45;

/** What to draw. Every field but `metrics` has a default. */
export interface ChartSpec {
  /** Metrics to draw; one series per run and metric. */
  metrics: MetricKey[];
  /** Default 'step'. */
  x?: XAxisKind;
  /** Default 'linear'. A log axis drops values ≤ 0 (they cannot be drawn). */
  yScale?: 'linear' | 'log';
  /** Default DEFAULT_SMOOTHING. Series whose metric is in `unsmoothed` (default: lr, loss_scale, val_loss, val_ppl) are never smoothed. */
  smoothing?: Smoothing;
  /**
   * Metrics drawn as logged, never smoothed: evaluations are few and exact, a schedule is not noisy.
   * Default ['val_loss', 'val_ppl', 'lr', 'loss_scale'].
   */
  unsmoothed?: MetricKey[];
  /** Horizontal target line at this y; null: none. Default DEFAULT_TARGET_LOSS when a metric is a loss, else none. */
  target?: number | null;
  /** Dotted key (in ChartRun.keys) to colour runs by: numbers on a sequential scale, other values categorically. */
  colorBy?: string;
  /** Draw the raw curve faint under the smoothed one. Default true. */
  showRaw?: boolean;
  /** Chart title; default none. */
  title?: string;
  /** Interactive extras for the app: tooltip and inside zoom. Default false (exports). */
  interactive?: boolean;
  /** Font family for every text (exports use the bundled font). Default 'DejaVu Sans, sans-serif'. */
  fontFamily?: string;
}

/** The visible part of a chart: downsampling is recomputed for it, smoothing never is. */
export interface ChartView {
  /** Visible x-range (in the x-axis' own units: steps, seconds, tokens); default the full extent. */
  range?: [number, number];
  /** Plot width in pixels: the number of downsampling buckets. Default 1000. */
  widthPx?: number;
  /** Chart width in CSS pixels, for laying out (wrapping) the legend; default widthPx. Exports set it apart from widthPx. */
  layoutWidthPx?: number;
}
