/**
 * The experiment log as text: report.md (charts linked as PNG, with SVG and CSV beside them) or one self-contained
 * report.html (charts inline as SVG). Both from the same content (model.ts). Pure: the writer supplies each chart's
 * file names or SVG text.
 */
import type { ReportGroup, ReportSummary, RunResult } from './model';
import { fmtConfig, fmtDuration, fmtInt, fmtLoss } from './format';

export interface ReportChart {
  title: string;
  /** Markdown: paths relative to the report folder. */
  png?: string;
  svg?: string;
  csv?: string;
  /** HTML: the SVG text. */
  inlineSvg?: string;
}

export interface ReportDoc {
  generated: string;
  engine: string;
  machine: string;
  smoothing: string;
  summary: ReportSummary;
  groups: Array<{ group: ReportGroup; charts: ReportChart[] }>;
}

// ── shared tables: rows of cells, rendered as markdown or HTML ────────────────────────────────────────────
interface Table {
  head: string[];
  rows: string[][];
}

function status(r: RunResult): string {
  if (r.diverged) return r.state === 'diverged' ? '**DIVERGED**' : `${r.state}, **DIVERGED**`;
  return r.importedFrom && r.state !== 'imported' ? `${r.state} (imported)` : r.state;
}

function runLabel(r: RunResult): string {
  return r.name === r.id ? `\`${r.id}\`` : `${r.name} (\`${r.id}\`)`;
}

function summaryTable(s: ReportSummary, groups: ReportDoc['groups']): Table {
  const target = s.target;
  const head = ['run', 'section', 'status', 'best val loss', 'final val loss', ...(target !== null ? [`≤ ${target}`, 'time to target'] : []), 'wall time', 'tokens/s'];
  const rows: string[][] = [];
  for (const { group } of groups) {
    for (const r of group.results) {
      rows.push([
        runLabel(r), group.title, status(r), fmtLoss(r.bestVal?.value), fmtLoss(r.finalVal),
        ...(target !== null ? [r.reached ? 'yes' : 'no', r.reached ? fmtDuration(r.reached.elapsed_s) : '—'] : []),
        fmtDuration(r.wallS), fmtInt(r.tokensPerS),
      ]);
    }
  }
  return { head, rows };
}

function configTable(g: ReportGroup): Table | undefined {
  if (!g.diff.keys.length) return undefined;
  return {
    head: ['run', ...g.diff.keys.map((k) => `\`${k}\``)],
    rows: g.results.map((r, i) => [i === g.diff.baseline ? `${runLabel(r)} **(baseline)**` : runLabel(r), ...g.diff.keys.map((k) => fmtConfig(g.diff.values[i][k]))]),
  };
}

function resultsTable(g: ReportGroup): Table {
  return {
    head: ['run', 'status', 'final val loss', 'best val loss (step)', 'steps', 'tokens', 'wall time', 'tokens/s', 'restarts', 'GPU'],
    rows: g.results.map((r) => [
      runLabel(r), status(r), fmtLoss(r.finalVal),
      r.bestVal ? `${fmtLoss(r.bestVal.value)}${Number.isFinite(r.bestVal.step) ? ` (${r.bestVal.step})` : ''}` : '—',
      fmtInt(r.lastStep), fmtInt(r.tokens), fmtDuration(r.wallS), fmtInt(r.tokensPerS), String(r.restarts), r.gpu ?? '—',
    ]),
  };
}

function summaryLines(s: ReportSummary): string[] {
  const lines: string[] = [];
  if (s.target !== null) lines.push(`Target: validation loss ≤ ${s.target}. **${s.reached.length} of ${s.total}** runs reached it.`);
  if (s.best) lines.push(`Lowest validation loss: **${fmtLoss(s.best.bestVal?.value)}**, ${runLabel(s.best)}${s.best.bestVal && Number.isFinite(s.best.bestVal.step) ? ` at step ${s.best.bestVal.step}` : ''}${s.best.diverged ? ' (it diverged later)' : ''}.`);
  if (s.fastest?.reached) lines.push(`Fastest to the target: ${runLabel(s.fastest)}, at step ${s.fastest.reached.step} after ${fmtDuration(s.fastest.reached.elapsed_s)} of training${s.fastest.diverged ? ' (it diverged later)' : ''}.`);
  if (s.diverged.length) lines.push(`Diverged: ${s.diverged.map(runLabel).join(', ')}.`);
  return lines;
}

// ── markdown ──────────────────────────────────────────────────────────────────────────────────────────────
const mdCell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

function mdTable(t: Table): string {
  return [`| ${t.head.map(mdCell).join(' | ')} |`, `|${t.head.map(() => ' --- ').join('|')}|`, ...t.rows.map((r) => `| ${r.map(mdCell).join(' | ')} |`)].join('\n');
}

function mdQuote(text: string): string {
  return text.split('\n').map((l) => `> ${l}`).join('\n');
}

export function renderMarkdown(doc: ReportDoc): string {
  const out: string[] = ['# Experiment log', ''];
  out.push(`Generated ${doc.generated} by LM Workbench ${doc.engine} on ${doc.machine}. Curves smoothed with ${doc.smoothing} (raw curves faint underneath; validation loss unsmoothed).`, '');
  out.push('## Summary', '', ...summaryLines(doc.summary).flatMap((l) => [l, '']), mdTable(summaryTable(doc.summary, doc.groups)), '');
  for (const { group: g, charts } of doc.groups) {
    out.push(`## ${g.title[0].toUpperCase()}${g.title.slice(1)}`, '');
    out.push(`${g.results.length} run${g.results.length === 1 ? '' : 's'}: ${g.results.map(runLabel).join(', ')}.`, '');
    for (const r of g.results) if (r.importedFrom) out.push(`${runLabel(r)} was imported from \`${r.importedFrom}\`.`, '');
    out.push('### Configs', '');
    const ct = configTable(g);
    out.push(ct ? `Only the keys that differ; the first run is the baseline.\n\n${mdTable(ct)}` : g.results.length > 1 ? 'The configs are identical.' : 'A single run: nothing to compare.', '');
    out.push('### Results', '', mdTable(resultsTable(g)), '');
    out.push('### Learning curves', '');
    for (const c of charts) {
      out.push(`![${c.title}](${encodeURI(c.png ?? '')})`, '');
      out.push(`${c.title}: ${[c.png && `[PNG](${encodeURI(c.png)})`, c.svg && `[SVG](${encodeURI(c.svg)})`, c.csv && `[CSV](${encodeURI(c.csv)})`].filter(Boolean).join(' · ')}`, '');
    }
    const withSamples = g.runs.filter((r) => r.samples.length);
    if (withSamples.length) {
      out.push('### Samples', '');
      for (const r of withSamples) {
        for (const s of r.samples.slice(-3)) {
          out.push(`**${r.chart.name}**, step ${s.step} (\`${s.checkpoint}\`; temperature ${s.settings.temperature}, top-p ${s.settings.top_p}, seed ${s.settings.seed}, stop: ${s.stop_reason}):`, '');
          out.push(mdQuote(`**${s.prompt.replace(/\*/g, '\\*')}**${s.text}`), '');
        }
      }
    }
  }
  out.push('## Machine', '', `${doc.machine}; engine ${doc.engine}.`, '');
  return `${out.join('\n')}`;
}

// ── HTML ──────────────────────────────────────────────────────────────────────────────────────────────────
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
/** Markdown-ish cell text to HTML: `code` and **bold**. */
const inline = (s: string) => esc(s).replace(/`([^`]+)`/g, '<code>$1</code>').replace(/\*\*([^*]+)\*\*/g, '<strong>$1</strong>');

function htmlTable(t: Table): string {
  return `<table><thead><tr>${t.head.map((h) => `<th>${inline(h)}</th>`).join('')}</tr></thead><tbody>${t.rows.map((r) => `<tr>${r.map((c) => `<td>${inline(c)}</td>`).join('')}</tr>`).join('')}</tbody></table>`;
}

export function renderHtml(doc: ReportDoc): string {
  const b: string[] = [];
  b.push(`<h1>Experiment log</h1><p class="meta">Generated ${esc(doc.generated)} by LM Workbench ${esc(doc.engine)} on ${esc(doc.machine)}. Curves smoothed with ${esc(doc.smoothing)} (raw curves faint underneath; validation loss unsmoothed).</p>`);
  b.push(`<h2>Summary</h2>${summaryLines(doc.summary).map((l) => `<p>${inline(l)}</p>`).join('')}${htmlTable(summaryTable(doc.summary, doc.groups))}`);
  for (const { group: g, charts } of doc.groups) {
    b.push(`<section><h2>${esc(g.title[0].toUpperCase() + g.title.slice(1))}</h2><p>${inline(`${g.results.length} run${g.results.length === 1 ? '' : 's'}: ${g.results.map(runLabel).join(', ')}.`)}</p>`);
    for (const r of g.results) if (r.importedFrom) b.push(`<p>${inline(`${runLabel(r)} was imported from \`${r.importedFrom}\`.`)}</p>`);
    const ct = configTable(g);
    b.push(`<h3>Configs</h3>${ct ? `<p>Only the keys that differ; the first run is the baseline.</p>${htmlTable(ct)}` : `<p>${g.results.length > 1 ? 'The configs are identical.' : 'A single run: nothing to compare.'}</p>`}`);
    b.push(`<h3>Results</h3>${htmlTable(resultsTable(g))}<h3>Learning curves</h3>`);
    for (const c of charts) b.push(`<figure>${(c.inlineSvg ?? '').replace(/^<\?xml[^>]*>\s*/, '')}<figcaption>${esc(c.title)}</figcaption></figure>`);
    const withSamples = g.runs.filter((r) => r.samples.length);
    if (withSamples.length) {
      b.push('<h3>Samples</h3>');
      for (const r of withSamples) {
        for (const s of r.samples.slice(-3)) {
          b.push(`<p><strong>${esc(r.chart.name)}</strong>, step ${s.step} (<code>${esc(s.checkpoint)}</code>; temperature ${s.settings.temperature}, top-p ${s.settings.top_p}, seed ${s.settings.seed}, stop: ${esc(s.stop_reason)}):</p><blockquote><strong>${esc(s.prompt)}</strong>${esc(s.text)}</blockquote>`);
        }
      }
    }
    b.push('</section>');
  }
  b.push(`<h2>Machine</h2><p>${esc(doc.machine)}; engine ${esc(doc.engine)}.</p>`);
  const css = 'body{font-family:"DejaVu Sans",system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}table{border-collapse:collapse;margin:0.5em 0 1em;font-size:0.9em}th,td{border:1px solid #ccc;padding:3px 8px;text-align:left}th{background:#f3f3f3}figure{margin:1em 0}figure svg{max-width:100%;height:auto}blockquote{white-space:pre-wrap;border-left:3px solid #ccc;margin:0.5em 0;padding:0.3em 0.8em;color:#333}.meta{color:#555}code{font-size:0.9em}';
  return `<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>Experiment log</title><style>${css}</style></head><body>\n${b.join('\n')}\n</body></html>\n`;
}
