/**
 * The learning-curve chart builder's public API (pure: no DOM, no node:, safe for the renderer's Vite bundle).
 *
 *   const runs = [chartRunFromRecords({ id, records, meta, status, config })];     // or build ChartRun yourself
 *   const prepared = prepareChart(runs, { metrics: ['loss', 'val_loss'], x: 'step', smoothing: { kind: 'ema', weight: 0.6 } });
 *   chart.setOption(buildChartOption(prepared, { widthPx: 900 }), true);          // first draw
 *   // on zoom: re-downsample only (smoothing stays as computed on the full series)
 *   chart.setOption(buildChartOption(prepared, { widthPx: 900, range: [x0, x1] }), true);
 *   const csv = chartCsv(prepared, { range });                                     // what is plotted, full resolution
 *
 * Server-side export (SVG/PNG with the bundled font) is node-only: import from './export' (not re-exported here).
 * File reading is node-only too: './load'.
 */
export * from './types';
export { emaDebiased, timeWeightedEma, centredMovingAverage, smooth, describeSmoothing, parseSmoothing } from './smoothing';
export { minMaxDownsample, lowerBound, upperBound } from './downsample';
export { alignOnUnion, type Aligned } from './align';
export { seriesFromRecords, chartRunFromRecords } from './series';
export { assignColors, sequential, CATEGORICAL } from './colors';
export {
  prepareChart, buildChartOption, buildChartOptions, resolveSpec, isDiverged, formatValue,
  type ChartOption, type PreparedChart, type PreparedCurve, type ResolvedSpec,
} from './options';
export { chartCsv } from './csv';
