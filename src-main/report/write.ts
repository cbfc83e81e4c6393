/**
 * `lmwb report`'s work (node only): loads the chosen runs, groups them, draws each group's learning curves (loss vs
 * step and vs wall-clock; PNG + SVG + CSV, or inline SVG for HTML) and writes the experiment log. Re-running updates
 * the same folder in place: every file is written to a temporary file and renamed over its target, report.md (or
 * .html) last; files of the previous report that are no longer part of it (listed in .lmwb-report.json) are
 * removed, and nothing else in the folder is touched.
 */
import { existsSync, readFileSync, readdirSync, rmdirSync, rmSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { UserError, throwIfAborted } from '../util/errors';
import { writeFileAtomic } from '../util/atomic-write';
import { listRunIds } from '../runs/read';
import { loadRun, type LoadedRun } from '../charts/load';
import { prepareChart } from '../charts/options';
import { chartCsv } from '../charts/csv';
import { chartPng, chartSvg, DEFAULT_DPI } from '../charts/export';
import { describeSmoothing } from '../charts/smoothing';
import { DEFAULT_SMOOTHING, DEFAULT_TARGET_LOSS, type Smoothing, type XAxisKind } from '../charts/types';
import { groupRuns, summarize } from './model';
import { renderHtml, renderMarkdown, type ReportChart, type ReportDoc } from './render';
import { describeMachine, engineVersion } from './machine';

export type ReportSelection = { runs: string[] } | { sweep: string } | { all: true };

export interface ReportOptions {
  workspace: string;
  select: ReportSelection;
  out: string;
  format?: 'md' | 'html';
  /** Target val loss; null: none. Default 1.45. */
  target?: number | null;
  smoothing?: Smoothing;
  /** PNG size in pixels and DPI (defaults 1600×1000 at 200 dpi: 8 × 5 inches). */
  widthPx?: number;
  heightPx?: number;
  dpi?: number;
  signal?: AbortSignal;
  /** Progress: one event per chart drawn. */
  onProgress?: (e: { type: 'chart'; done: number; total: number; name: string }) => void;
}

export interface ReportResult {
  /** report.md or report.html (absolute). */
  report: string;
  /** Every file written (absolute), the report last. */
  files: string[];
  runs: number;
  groups: number;
}

const MANIFEST = '.lmwb-report.json';

function selectRuns(workspace: string, select: ReportSelection): LoadedRun[] {
  const ids = 'runs' in select ? select.runs : listRunIds(workspace);
  if ('runs' in select && !ids.length) throw new UserError('no runs given for the report', { code: 'INVALID_ARGUMENT' });
  let runs = ids.map((id) => loadRun(workspace, id));
  // --runs keeps the user's order (the first is the baseline); otherwise oldest first.
  if (!('runs' in select)) runs.sort((a, b) => (a.status?.created ?? '').localeCompare(b.status?.created ?? '') || a.id.localeCompare(b.id));
  if ('sweep' in select) {
    runs = runs.filter((r) => r.meta?.sweep?.name === select.sweep);
    if (!runs.length) throw new UserError(`no run in ${workspace} belongs to sweep "${select.sweep}"`, { code: 'RUN_NOT_FOUND', data: { sweep: select.sweep } });
  }
  if (!runs.length) throw new UserError(`no runs in ${workspace}`, { code: 'RUN_NOT_FOUND', data: { workspace } });
  return runs;
}

const CURVES: Array<{ x: XAxisKind; file: string; title: string }> = [
  { x: 'step', file: 'loss-step', title: 'Loss vs step' },
  { x: 'elapsed_s', file: 'loss-wallclock', title: 'Loss vs wall-clock time' },
];

export async function writeReport(opts: ReportOptions): Promise<ReportResult> {
  const out = resolve(opts.out);
  const format = opts.format ?? 'md';
  const target = opts.target === undefined ? DEFAULT_TARGET_LOSS : opts.target;
  const smoothing = opts.smoothing ?? DEFAULT_SMOOTHING;
  const size = { widthPx: opts.widthPx ?? 1600, heightPx: opts.heightPx ?? 1000, dpi: opts.dpi ?? DEFAULT_DPI };
  const runs = selectRuns(opts.workspace, opts.select);
  const groups = groupRuns(runs, target);
  const files: string[] = [];
  const write = (rel: string, data: string | Uint8Array) => {
    const p = join(out, rel);
    writeFileAtomic(p, data);
    files.push(p);
  };

  const total = groups.length * CURVES.length;
  let done = 0;
  const docGroups: ReportDoc['groups'] = [];
  for (const g of groups) {
    const charts: ReportChart[] = [];
    for (const c of CURVES) {
      throwIfAborted(opts.signal, 'report');
      const prepared = prepareChart(g.runs.map((r) => r.chart), {
        metrics: ['loss', 'val_loss'], x: c.x, smoothing, target, colorBy: g.colorBy,
        title: `${g.title}: ${c.title.toLowerCase()}`,
      });
      const svg = chartSvg(prepared, size);
      if (format === 'html') charts.push({ title: c.title, inlineSvg: svg });
      else {
        const base = `${g.slug}/${c.file}`;
        write(`${base}.png`, chartPng(prepared, size));
        write(`${base}.svg`, svg);
        write(`${base}.csv`, chartCsv(prepared));
        charts.push({ title: c.title, png: `${base}.png`, svg: `${base}.svg`, csv: `${base}.csv` });
      }
      opts.onProgress?.({ type: 'chart', done: ++done, total, name: `${g.slug}/${c.file}` });
      await new Promise((r) => setImmediate(r)); // let a signal (Ctrl-C) through between charts
    }
    docGroups.push({ group: g, charts });
  }
  const doc: ReportDoc = {
    generated: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    engine: engineVersion(),
    machine: describeMachine(),
    smoothing: describeSmoothing(smoothing),
    summary: summarize(groups, target),
    groups: docGroups,
  };
  throwIfAborted(opts.signal, 'report');
  const reportName = format === 'html' ? 'report.html' : 'report.md';
  write(reportName, format === 'html' ? renderHtml(doc) : renderMarkdown(doc));
  removeStale(out, files);
  writeFileAtomic(join(out, MANIFEST), `${JSON.stringify({ files: files.map((f) => relative(out, f).split(sep).join('/')) }, null, 1)}\n`);
  return { report: join(out, reportName), files, runs: runs.length, groups: groups.length };
}

/** Removes the previous report's files that this one did not write (and folders left empty by that). */
function removeStale(out: string, written: string[]): void {
  const p = join(out, MANIFEST);
  if (!existsSync(p)) return;
  let old: string[];
  try {
    old = (JSON.parse(readFileSync(p, 'utf8')) as { files?: string[] }).files ?? [];
  } catch {
    return;
  }
  const keep = new Set(written.map((f) => resolve(f)));
  for (const rel of old) {
    const f = resolve(out, rel);
    if (!f.startsWith(out + sep) || keep.has(f)) continue; // never outside the folder
    rmSync(f, { force: true });
    const d = dirname(f);
    try {
      if (d !== out && readdirSync(d).length === 0) rmdirSync(d);
    } catch {
      // already gone
    }
  }
}
