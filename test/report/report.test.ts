// `lmwb report` over fixture runs written here (a finished lr sweep with a diverged member, an imported
// CS336-tracker run): report.md names every run and links files that exist; each PNG decodes at the requested size
// and is not blank; each SVG has the legend and axis titles as text; the CSV's smoothed column is the EMA of its
// raw column; re-running updates the folder in place; --format html is one self-contained file.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emaDebiased } from '../../src-main/charts/index';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const tmp = mkdtempSync(join(tmpdir(), 'lmwb-report-'));
const ws = join(tmp, 'ws');
afterAll(() => (process.env.KEEP_REPORT ? console.log(tmp) : rmSync(tmp, { recursive: true, force: true })));

function lmwb(...args: string[]) {
  const r = spawnSync(process.execPath, [join(repoRoot, 'node_modules', 'tsx', 'dist', 'cli.mjs'), join(repoRoot, 'src-main', 'cli', 'main.ts'), ...args], { cwd: tmp, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const T0 = Date.parse('2026-11-30T10:00:00Z');
function writeRun(id: string, o: { lr: number; steps: number; diverge?: number; sweep?: boolean; imported?: boolean; samples?: boolean }) {
  const dir = join(ws, 'runs', id);
  mkdirSync(dir, { recursive: true });
  const config = { model: { d_model: 512, num_layers: 4 }, optimizer: { lr: o.lr, betas: [0.9, 0.95] }, training: { batch_size: 64, steps: o.steps } };
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
  const lines: string[] = [];
  for (let step = 20; step <= o.steps; step += 20) {
    const tokens = step * 64 * 256;
    const elapsed_s = step * 0.05;
    const time = new Date(T0 + elapsed_s * 1000).toISOString();
    const noise = Math.sin(step * 0.37) * 0.08;
    let loss: number | null = 1.2 + 8 * Math.exp(-step * o.lr / 2) + noise;
    if (o.diverge !== undefined && step >= o.diverge) loss = step === o.diverge ? 40 : null;
    lines.push(JSON.stringify({ kind: 'train', step, tokens, elapsed_s, time, loss, lr: o.lr, grad_norm: 0.7, tokens_per_s: 300_000 + (step % 7) }));
    if (step % 200 === 0 && loss !== null) {
      lines.push(JSON.stringify({ kind: 'eval', step, tokens, elapsed_s: elapsed_s + 0.01, time, val_loss: loss + 0.05, val_tokens: 4096 }));
    }
  }
  writeFileSync(join(dir, 'metrics.jsonl'), `${lines.join('\n')}\n`);
  const meta: Record<string, unknown> = { name: id, tags: [], notes: '' };
  if (o.sweep) meta.sweep = { name: 'lr-sweep', keys: { 'optimizer.lr': o.lr } };
  if (o.imported) Object.assign(meta, { name: 'CS336 tracker baseline', imported_from: 'cs336-tracker:/home/me/cs336/runs/baseline/log.jsonl' });
  writeFileSync(join(dir, 'meta.json'), JSON.stringify(meta));
  if (!o.imported) {
    const state = o.diverge !== undefined ? 'diverged' : 'done';
    writeFileSync(join(dir, 'status.json'), JSON.stringify({ state, attempts: 1, restarts: [], created: new Date(T0).toISOString(), updated: new Date(T0).toISOString(), elapsed_s: o.steps * 0.05, gpu: 'Test GPU 0' }));
  }
  if (o.samples) {
    const s = { time: new Date(T0).toISOString(), checkpoint: `step_${String(o.steps).padStart(7, '0')}.safetensors`, step: o.steps, prompt: 'Once upon a time', text: ' there was a little fox who liked | pipes.', stop_reason: 'eos', settings: { temperature: 0.8, top_p: 0.9, top_k: 0, seed: 1, max_new_tokens: 64 } };
    writeFileSync(join(dir, 'samples.jsonl'), `${JSON.stringify(s)}\n`);
  }
}

const SIZE = { w: 900, h: 560, dpi: 120 };
const ids = ['lr-1e-3', 'lr-3e-3', 'lr-1e-2', 'imported-baseline'];

beforeAll(() => {
  writeRun('lr-1e-3', { lr: 1e-3, steps: 4000, sweep: true, samples: true });
  writeRun('lr-3e-3', { lr: 3e-3, steps: 4000, sweep: true });
  writeRun('lr-1e-2', { lr: 1e-2, steps: 4000, sweep: true, diverge: 1500 });
  writeRun('imported-baseline', { lr: 2e-3, steps: 3000, imported: true });
});

function decodePng(path: string): PNG {
  return PNG.sync.read(readFileSync(path));
}

describe('lmwb report', () => {
  const out = join(tmp, 'report');
  it('writes report.md naming every run, linking files that exist', () => {
    const r = lmwb('report', '--all', '--workspace', ws, '--out', out, '--width', String(SIZE.w), '--height', String(SIZE.h), '--dpi', String(SIZE.dpi));
    expect(r.stderr).toMatch(/chart 4\/4/);
    expect(r.code).toBe(0);
    const md = readFileSync(join(out, 'report.md'), 'utf8');
    for (const id of ids) expect(md).toContain(id);
    expect(md).toContain('cs336-tracker:/home/me/cs336/runs/baseline/log.jsonl');
    expect(md).toMatch(/\*\*DIVERGED\*\*/);
    expect(md).toMatch(/\*\*\(baseline\)\*\*/);
    expect(md).toMatch(/`optimizer\.lr`/);
    expect(md).not.toMatch(/`model\.d_model`/); // same in every run of the sweep: not in its table
    expect(md).toMatch(/Target: validation loss ≤ 1\.45\. \*\*\d of 4\*\*/);
    expect(md).toContain('there was a little fox');
    expect(md).toMatch(/Machine/);
    const links = [...md.matchAll(/\]\(([^)]+)\)/g)].map((m) => decodeURI(m[1]));
    expect(links.length).toBeGreaterThanOrEqual(2 * 2 * 3);
    for (const l of links) expect(existsSync(join(out, l)), l).toBe(true);
  });
  it('each PNG decodes at the requested size and is not blank', () => {
    const pngs = readdirSync(out, { recursive: true }).map(String).filter((f) => f.endsWith('.png'));
    expect(pngs).toHaveLength(4);
    for (const f of pngs) {
      const img = decodePng(join(out, f));
      expect([img.width, img.height]).toEqual([SIZE.w, SIZE.h]);
      let ink = 0;
      const colours = new Set<number>();
      for (let i = 0; i < img.data.length; i += 4) {
        const [r, g, b] = [img.data[i], img.data[i + 1], img.data[i + 2]];
        if (r < 200 || g < 200 || b < 200) ink++;
        colours.add((r << 16) | (g << 8) | b);
      }
      expect(ink / (img.width * img.height)).toBeGreaterThan(0.01);
      expect(colours.size).toBeGreaterThan(20);
      // white background
      expect([img.data[0], img.data[1], img.data[2]]).toEqual([255, 255, 255]);
    }
  });
  it('each SVG has the legend and axis titles as text', () => {
    for (const [file, xTitle] of [['sweep-lr-sweep/loss-step.svg', 'step'], ['sweep-lr-sweep/loss-wallclock.svg', 'wall-clock (min)']]) {
      const svg = readFileSync(join(out, file), 'utf8');
      const texts = [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1].replace(/&amp;/g, '&'));
      expect(texts).toContain(xTitle);
      expect(texts).toContain('loss');
      expect(texts.some((t) => t.startsWith('smoothing: EMA 0.6'))).toBe(true);
      expect(texts).toContain('target 1.45');
      for (const id of ['lr-1e-3', 'lr-3e-3', 'lr-1e-2']) expect(texts.some((t) => t.startsWith(`${id} · train loss`))).toBe(true);
      expect(texts.some((t) => t.includes('(diverged)'))).toBe(true);
    }
  });
  it('the CSV\'s smoothed column is the TensorBoard EMA of its raw column', () => {
    const csv = readFileSync(join(out, 'sweep-lr-sweep', 'loss-step.csv'), 'utf8').trim().split('\n');
    const head = csv[0].split(',');
    const rawCol = head.indexOf('lr-1e-3 · train loss [lr=0.001] raw');
    const smCol = head.indexOf('lr-1e-3 · train loss [lr=0.001] smoothed');
    expect(rawCol).toBeGreaterThan(0);
    const rows = csv.slice(1).map((l) => l.split(','));
    const raw = rows.filter((r) => r[rawCol] !== '').map((r) => Number(r[rawCol]));
    const sm = rows.filter((r) => r[rawCol] !== '').map((r) => Number(r[smCol]));
    expect(raw).toHaveLength(200);
    const ema = emaDebiased(raw, 0.6);
    for (let i = 0; i < raw.length; i++) expect(sm[i]).toBeCloseTo(ema[i], 12);
    // the diverged run's non-finite losses are in it as nan
    expect(csv.some((l) => l.includes('nan'))).toBe(true);
  });
  it('re-running updates the same folder: files of runs no longer in it are removed, others kept', () => {
    writeFileSync(join(out, 'my-notes.txt'), 'mine');
    const r = lmwb('report', '--runs', 'imported-baseline', '--workspace', ws, '--out', out, '--width', '400', '--height', '300', '--dpi', '96');
    expect(r.code).toBe(0);
    expect(existsSync(join(out, 'sweep-lr-sweep'))).toBe(false);
    expect(existsSync(join(out, 'my-notes.txt'))).toBe(true);
    const md = readFileSync(join(out, 'report.md'), 'utf8');
    expect(md).not.toContain('lr-1e-3');
    expect(decodePng(join(out, 'other-runs', 'loss-step.png')).width).toBe(400);
    expect(readdirSync(out).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });
  it('--format html writes one self-contained file with inline SVG charts; bad selections fail with one line', () => {
    const hout = join(tmp, 'html');
    const r = lmwb('report', '--sweep', 'lr-sweep', '--workspace', ws, '--out', hout, '--format', 'html', '--width', '600', '--height', '400', '--dpi', '96');
    expect(r.code).toBe(0);
    expect(readdirSync(hout).filter((f) => !f.startsWith('.'))).toEqual(['report.html']);
    const html = readFileSync(join(hout, 'report.html'), 'utf8');
    expect((html.match(/<svg/g) ?? []).length).toBe(2);
    expect(html).not.toMatch(/<img|src=|href=/);
    for (const id of ['lr-1e-3', 'lr-3e-3', 'lr-1e-2']) expect(html).toContain(id);
    expect(html).not.toContain('imported-baseline');
    const bad = lmwb('report', '--sweep', 'nope', '--workspace', ws, '--out', join(tmp, 'x'));
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).toMatch(/sweep "nope"/);
    const both = lmwb('report', '--all', '--sweep', 'lr-sweep', '--workspace', ws, '--out', join(tmp, 'x'));
    expect(both.code).toBe(2);
  });
});
