// `lmwb serve`'s server over a real workspace, with real HTTP and WebSocket clients: the token guards everything
// (401 and nothing else without it), Host and Origin are checked, the API answers from the run files, meta edits
// land in meta.json, and live metrics arrive complete, in order and batched (never one message per line).
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { Backend } from '../../src-main/server/backend';
import { startServer, type RunningServer } from '../../src-main/server/http';
import { exportChart } from '../../src-main/server/export';
import { PNG } from 'pngjs';
import type { ApiEvent, MetricsEvent, RunSummary } from '../../src-main/api/contract';

const ws = mkdtempSync(join(tmpdir(), 'lmwb-serve-'));
const ui = mkdtempSync(join(tmpdir(), 'lmwb-ui-'));
let server: RunningServer;
let backend: Backend;

function makeRun(id: string, lr: number, lines: number, state = 'done'): void {
  const dir = join(ws, 'runs', id);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ name: id, model: { d_model: 64, num_layers: 2 }, training: { batch_size: 8, max_learning_rate: lr } }));
  writeFileSync(join(dir, 'meta.json'), JSON.stringify({ name: id, tags: ['fixture'], notes: '' }));
  const now = new Date().toISOString();
  writeFileSync(join(dir, 'status.json'), JSON.stringify({ state, attempts: 1, restarts: [], created: now, updated: now }));
  writeFileSync(join(dir, 'metrics.jsonl'), Array.from({ length: lines }, (_, i) => `${trainLine(i + 1)}\n`).join(''));
}
function trainLine(step: number): string {
  return JSON.stringify({ kind: 'train', step, tokens: step * 512, elapsed_s: step * 0.1, time: new Date().toISOString(), loss: 5 / step, lr: 1e-3, grad_norm: 1, tokens_per_s: 5000 });
}

function http(path: string, opts: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: server.port, path, method: opts.method ?? 'GET', headers: opts.headers }, (res) => {
      let body = '';
      res.on('data', (b) => (body += b));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}
const auth = () => ({ Authorization: `Bearer ${server.token}`, 'Content-Type': 'application/json' });
async function call(method: string, params: unknown = {}): Promise<{ ok: boolean; result?: unknown; error?: { code: string; message: string } }> {
  const r = await http('/api', { method: 'POST', headers: auth(), body: JSON.stringify({ method, params }) });
  expect(r.status).toBe(200);
  return JSON.parse(r.body);
}

beforeAll(async () => {
  makeRun('a-lr1e-3', 1e-3, 50);
  makeRun('b-lr3e-3', 3e-3, 50);
  makeRun('live', 2e-3, 0, 'running');
  writeFileSync(join(ui, 'index.html'), '<!doctype html><title>ui</title>');
  backend = new Backend({ workspace: ws, host: 'serve', exportChart });
  server = await startServer({ backend, port: 0, host: '127.0.0.1', allowRemote: false, staticDir: ui });
});
afterAll(async () => {
  await backend.close();
  await server.close();
  rmSync(ws, { recursive: true, force: true });
  rmSync(ui, { recursive: true, force: true });
});

describe('lmwb serve', () => {
  it('answers 401 and nothing else without the token, everywhere', async () => {
    for (const path of ['/', '/index.html', '/api', '/assets/x.js', '/?token=wrong']) {
      const r = await http(path, { method: path === '/api' ? 'POST' : 'GET', headers: { 'Content-Type': 'application/json' }, body: path === '/api' ? '{"method":"runs.list"}' : undefined });
      expect(r.status, path).toBe(401);
      expect(r.body).toBe('unauthorized\n');
    }
    const wsr = await new Promise<number>((resolve) => {
      const c = new WebSocket(`ws://127.0.0.1:${server.port}/api/events`);
      c.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      c.on('open', () => resolve(101));
      c.on('error', () => undefined);
    });
    expect(wsr).toBe(401);
  });

  it('checks Host (no DNS rebinding) and Origin (no cross-site calls)', async () => {
    expect((await http('/', { headers: { ...auth(), Host: `evil.example:${server.port}` } })).status).toBe(403);
    const cross = await http('/api', { method: 'POST', headers: { ...auth(), Origin: 'http://evil.example' }, body: '{"method":"runs.list"}' });
    expect(cross.status).toBe(403);
    const same = await http('/api', { method: 'POST', headers: { ...auth(), Origin: `http://127.0.0.1:${server.port}` }, body: '{"method":"runs.list"}' });
    expect(same.status).toBe(200);
  });

  it('turns ?token= into an HttpOnly SameSite cookie and serves the UI with a CSP', async () => {
    const r = await http(`/?token=${server.token}`);
    expect(r.status).toBe(303);
    expect(r.headers.location).toBe('/');
    const cookie = String(r.headers['set-cookie']).split(';')[0];
    expect(String(r.headers['set-cookie'])).toMatch(/HttpOnly; SameSite=Strict/);
    const page = await http('/', { headers: { Cookie: cookie } });
    expect(page.status).toBe(200);
    expect(page.body).toContain('<title>ui</title>');
    expect(page.headers['content-security-policy']).toMatch(/script-src 'self'/);
  });

  it('lists runs, reads one, refuses unknown ids, diffs configs, writes meta.json', async () => {
    const list = (await call('runs.list')).result as RunSummary[];
    expect(list.map((r) => r.id)).toEqual(['a-lr1e-3', 'b-lr3e-3', 'live']);
    const a = list[0];
    expect(a).toMatchObject({ state: 'done', step: 50, tags: ['fixture'], config: { 'training.max_learning_rate': 1e-3 } });
    expect(a.finalLoss).toBeCloseTo(5 / 50);
    expect(await call('runs.get', { id: 'nope' })).toMatchObject({ ok: false, error: { code: 'RUN_NOT_FOUND' } });
    expect(await call('runs.diff', { ids: ['a-lr1e-3', 'b-lr3e-3'] })).toMatchObject({ ok: true, result: { keys: ['training.max_learning_rate'] } });
    const m = await call('runs.updateMeta', { id: 'a-lr1e-3', tags: ['best', 'best', 'lr'], notes: 'the baseline' });
    expect(m).toMatchObject({ ok: true, result: { tags: ['best', 'lr'], notes: 'the baseline' } });
    expect(JSON.parse(readFileSync(join(ws, 'runs', 'a-lr1e-3', 'meta.json'), 'utf8'))).toMatchObject({ name: 'a-lr1e-3', tags: ['best', 'lr'], notes: 'the baseline' });
    const metrics = (await call('runs.metrics', { id: 'b-lr3e-3' })).result as { records: unknown[]; offset: number };
    expect(metrics.records).toHaveLength(50);
    expect((await call('runs.metrics', { id: 'b-lr3e-3', from: metrics.offset })).result).toMatchObject({ records: [] });
  });

  it('exports PNG (requested size, white, not blank), SVG (text as text) and CSV through the API', async () => {
    const spec = { runs: ['a-lr1e-3', 'b-lr3e-3'], metrics: ['loss'], x: 'step', smoothing: { kind: 'ema', weight: 0.6 } };
    const png = (await call('charts.export', { spec, options: { format: 'png', width: 900, height: 500, dpi: 120 } })).result as { base64: string; width: number; height: number; filename: string };
    expect(png.filename).toMatch(/\.png$/);
    const img = PNG.sync.read(Buffer.from(png.base64, 'base64'));
    expect([img.width, img.height, png.width, png.height]).toEqual([900, 500, 900, 500]);
    expect([...img.data.subarray(0, 4)]).toEqual([255, 255, 255, 255]);
    let dark = 0;
    for (let i = 0; i < img.data.length; i += 4) if (img.data[i] + img.data[i + 1] + img.data[i + 2] < 450) dark++;
    expect(dark).toBeGreaterThan(1000);
    const svg = Buffer.from(((await call('charts.export', { spec, options: { format: 'svg' } })).result as { base64: string }).base64, 'base64').toString();
    expect(svg).toMatch(/<svg/);
    expect(svg).toContain('>step<');
    expect(svg).toContain('a-lr1e-3');
    const csv = Buffer.from(((await call('charts.export', { spec, options: { format: 'csv' } })).result as { base64: string }).base64, 'base64').toString();
    expect(csv.split('\n')[0]).toMatch(/step/);
    expect(csv.split('\n').filter(Boolean).length).toBeGreaterThan(50);
    expect(await call('charts.export', { spec: { ...spec, runs: ['nope'] }, options: { format: 'png' } })).toMatchObject({ ok: false, error: { code: 'RUN_NOT_FOUND' } });
  });

  it('pushes live metrics complete, in order, batched at most ~10 times a second', async () => {
    const c = new WebSocket(`ws://127.0.0.1:${server.port}/api/events`, { headers: { Authorization: `Bearer ${server.token}` } });
    const events: ApiEvent[] = [];
    c.on('message', (d) => {
      const e = JSON.parse(String(d)) as ApiEvent | { type: 'subscribed' };
      if (e.type !== 'subscribed') events.push(e);
    });
    await new Promise((r) => c.on('open', r));
    c.send(JSON.stringify({ type: 'subscribe', runs: [{ id: 'live', from: 0 }] }));
    const file = join(ws, 'runs', 'live', 'metrics.jsonl');
    const t0 = Date.now();
    // 400 lines in 200 writes over ~1 s, one of them torn across two writes (a writer mid-line).
    for (let i = 1; i <= 400; i += 2) {
      if (i === 201) {
        const l = trainLine(201);
        appendFileSync(file, l.slice(0, 20));
        await new Promise((r) => setTimeout(r, 30));
        appendFileSync(file, `${l.slice(20)}\n${trainLine(202)}\n`);
      } else appendFileSync(file, `${trainLine(i)}\n${trainLine(i + 1)}\n`);
      await new Promise((r) => setTimeout(r, 5));
    }
    const steps = () => events.filter((e): e is MetricsEvent => e.type === 'metrics').flatMap((e) => e.chunks.flatMap((ch) => ch.records.map((r) => r.step)));
    for (let i = 0; i < 60 && steps().length < 400; i++) await new Promise((r) => setTimeout(r, 100));
    const seconds = (Date.now() - t0) / 1000;
    c.close();
    expect(steps()).toEqual(Array.from({ length: 400 }, (_, i) => i + 1));
    const metricMsgs = events.filter((e) => e.type === 'metrics').length;
    expect(metricMsgs).toBeGreaterThan(1);
    expect(metricMsgs).toBeLessThanOrEqual(Math.ceil(seconds * 10) + 2);
  });
  it('pushes a run\'s change even when another request refreshed the index first (runs.list from a script)', async () => {
    const c = new WebSocket(`ws://127.0.0.1:${server.port}/api/events`, { headers: { Authorization: `Bearer ${server.token}` } });
    const rows: RunSummary[] = [];
    c.on('message', (d) => {
      const e = JSON.parse(String(d)) as ApiEvent | { type: 'subscribed' };
      if (e.type === 'runs') rows.push(...e.changed);
    });
    await new Promise((r) => c.on('open', r));
    await new Promise((r) => setTimeout(r, 300)); // the connect's first push is over
    const now = new Date().toISOString();
    writeFileSync(join(ws, 'runs', 'live', 'status.json'), JSON.stringify({ state: 'paused', attempts: 1, restarts: [], created: now, updated: now }));
    // Another client lists the runs before the push: the index already holds the new row when the backend flushes.
    const listed = (await call('runs.list')).result as RunSummary[];
    expect(listed.find((r) => r.id === 'live')?.state).toBe('paused');
    for (let i = 0; i < 50 && !rows.some((r) => r.id === 'live' && r.state === 'paused'); i++) await new Promise((r) => setTimeout(r, 100));
    c.close();
    expect(rows.some((r) => r.id === 'live' && r.state === 'paused')).toBe(true);
  });
});
