/**
 * Chart export for the API (PNG, SVG, CSV): loads the runs named in the spec from the workspace (by id) and
 * renders them with the charts module's server-side exporter, so the app exports exactly what `lmwb report`
 * draws: the same builder, smoothing at full resolution, the bundled font, a white background by default.
 */
import { chartRunFromRecords, chartCsv, prepareChart, type ChartRun } from '../charts';
import { chartPng, chartSvg } from '../charts/export';
import { readConfig, readMeta, readMetrics, readStatus, runDir } from '../runs/read';
import type { ChartSpec, ExportOptions, ExportResult } from '../api/contract';

function slug(s: string): string {
  return s.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 80) || 'chart';
}

/** The runs of a spec as the chart builder's input (hidden runs left out). */
export function loadChartRuns(workspace: string, spec: ChartSpec): ChartRun[] {
  const hidden = new Set(spec.hidden);
  return spec.runs
    .filter((id) => !hidden.has(id))
    .map((id) => {
      const dir = runDir(workspace, id);
      return chartRunFromRecords({ id, records: readMetrics(dir).records, meta: readMeta(dir), status: readStatus(dir), config: readConfig(dir) });
    });
}

export async function exportChart(workspace: string, spec: ChartSpec, o: ExportOptions): Promise<ExportResult> {
  const runs = loadChartRuns(workspace, spec);
  const prepared = prepareChart(runs, {
    metrics: spec.metrics,
    x: spec.x,
    yScale: spec.yScale,
    smoothing: spec.smoothing,
    ...(spec.target !== undefined ? { target: spec.target } : {}),
    ...(spec.colorBy ? { colorBy: spec.colorBy } : {}),
    ...(spec.title ? { title: spec.title } : {}),
  });
  const view = spec.range ? { range: spec.range } : {};
  const base = slug(`${spec.title ?? spec.metrics.join('+')}-vs-${spec.x}-${runs.length === 1 ? runs[0].id : `${runs.length}-runs`}`);
  const size = { widthPx: o.width, heightPx: o.height, dpi: o.dpi, background: o.background === 'white' ? '#ffffff' : 'transparent' };
  if (o.format === 'png') {
    const png = chartPng(prepared, size, view);
    return { filename: `${base}.png`, mime: 'image/png', base64: png.toString('base64'), width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
  }
  if (o.format === 'svg') return { filename: `${base}.svg`, mime: 'image/svg+xml', base64: Buffer.from(chartSvg(prepared, size, view)).toString('base64') };
  return { filename: `${base}.csv`, mime: 'text/csv', base64: Buffer.from(chartCsv(prepared, view)).toString('base64') };
}

