// `npm run bench:charts`: the chart builder at scale — 20 runs × 100k train-loss points (+ eval every 50): smoothing
// (prepareChart, full resolution), downsampled ECharts options (buildChartOption, full range and a 10% zoom), CSV,
// SVG and PNG export. Prints one line per stage (median of --repeat runs) and a JSON summary line.
import { performance } from 'node:perf_hooks';
import { buildChartOption, chartCsv, prepareChart, type ChartRun } from '../charts/index';
import { chartPng, chartSvg } from '../charts/export';

const args = process.argv.slice(2);
const arg = (name: string, dflt: number) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const RUNS = arg('--runs', 20);
const POINTS = arg('--points', 100_000);
const REPEAT = arg('--repeat', 3);

function makeRuns(): ChartRun[] {
  const runs: ChartRun[] = [];
  let seed = 1;
  const rnd = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
  for (let r = 0; r < RUNS; r++) {
    const step = new Float64Array(POINTS);
    const tokens = new Float64Array(POINTS);
    const elapsed = new Float64Array(POINTS);
    const y = new Float64Array(POINTS);
    for (let i = 0; i < POINTS; i++) {
      step[i] = i + 1;
      tokens[i] = (i + 1) * 32768;
      elapsed[i] = (i + 1) * (0.1 + 0.01 * r);
      y[i] = 1.3 + 8 * Math.exp(-(i + 1) / (3000 + 200 * r)) + (rnd() - 0.5) * 0.2 + (rnd() < 1e-4 ? 3 : 0);
    }
    const ev = Math.floor(POINTS / 50);
    const pick = (a: Float64Array) => Float64Array.from({ length: ev }, (_, k) => a[(k + 1) * 50 - 1]);
    runs.push({
      id: `run-${r}`, name: `run-${r}`, keys: { 'optimizer.lr': 1e-4 * (r + 1) },
      metrics: { loss: { step, tokens, elapsed_s: elapsed, y }, val_loss: { step: pick(step), tokens: pick(tokens), elapsed_s: pick(elapsed), y: pick(y) } },
    });
  }
  return runs;
}

function time<T>(label: string, fn: () => T): { ms: number; value: T } {
  const ms: number[] = [];
  let value!: T;
  for (let k = 0; k < REPEAT; k++) {
    const t = performance.now();
    value = fn();
    ms.push(performance.now() - t);
  }
  ms.sort((a, b) => a - b);
  const med = ms[ms.length >> 1];
  process.stdout.write(`${label.padEnd(44)} ${med.toFixed(1).padStart(9)} ms  (median of ${REPEAT})\n`);
  return { ms: med, value };
}

const runs = makeRuns();
process.stdout.write(`${RUNS} runs × ${POINTS.toLocaleString('en-US')} train points (+ eval every 50), metrics loss + val_loss\n`);
const spec = { metrics: ['loss', 'val_loss'], colorBy: 'optimizer.lr' };
const prep = time('prepare (EMA 0.6 on full resolution)', () => prepareChart(runs, spec));
const tema = time('prepare (time-weighted EMA)', () => prepareChart(runs, { ...spec, smoothing: { kind: 'time-ema', weight: 0.9 } }));
void tema;
const opt = time('options, full range, 1000 px', () => buildChartOption(prep.value, { widthPx: 1000 }));
const zoom = time('options, 10% zoom, 1000 px', () => buildChartOption(prep.value, { widthPx: 1000, range: [45_000, 55_000] }));
const total = time('prepare + options (one call)', () => buildChartOption(prepareChart(runs, spec), { widthPx: 1000 }));
const points = (opt.value.series as Array<{ data: unknown[] }>).reduce((a, s) => a + s.data.length, 0);
process.stdout.write(`  points drawn after downsampling: ${points.toLocaleString('en-US')} (of ${(2 * RUNS * POINTS).toLocaleString('en-US')} raw + smoothed)\n`);
const csv = time('CSV (full resolution)', () => chartCsv(prep.value));
const size = { widthPx: 1600, heightPx: 1000, dpi: 200 };
const svg = time('SVG export 1600×1000 @200 dpi', () => chartSvg(prep.value, size));
const png = time('PNG export 1600×1000 @200 dpi', () => chartPng(prep.value, size));
process.stdout.write(`${JSON.stringify({
  runs: RUNS, points: POINTS, prepare_ms: prep.ms, options_ms: opt.ms, zoom_options_ms: zoom.ms, prepare_plus_options_ms: total.ms,
  csv_ms: csv.ms, csv_mb: csv.value.length / 1e6, svg_ms: svg.ms, svg_kb: svg.value.length / 1e3, png_ms: png.ms, png_kb: png.value.length / 1e3,
})}\n`);
