// The Datasets area through the real backend and `lmwb serve`'s HTTP + WebSocket: a preparation is a real
// `lmwb dataset prepare --events ndjson` child; its progress arrives as batched `datasets.jobs` events; the finished
// dataset is listed with counts that match its token files, its samples decode to the source text; a cancelled
// job leaves no dataset and no half-written file; bad inputs fail with their codes (at once where they can be
// checked, else as the job's one-line error); a copied and a byte-level tokenizer; uploads through /api/upload
// with the same token checks as /api, a size limit, and nothing left behind by a refused upload; a full disk
// (a small tmpfs) fails the job with DISK_FULL.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { Backend } from '../../src-main/server/backend';
import { DatasetJobs } from '../../src-main/server/dataset-jobs';
import { startServer, type RunningServer } from '../../src-main/server/http';
import type { ApiEvent } from '../../src-main/api/contract';
import type { DatasetJob, DatasetSample, DatasetSummary } from '../../src-main/api/areas/datasets';
import { loadTokenizer } from '../../src-main/tokenizer/index';
import { stories } from '../dataset/stories';

const ws = mkdtempSync(join(tmpdir(), 'lmwb-ds-app-'));
const texts = mkdtempSync(join(tmpdir(), 'lmwb-ds-texts-'));
let server: RunningServer;
let backend: Backend;
let socket: WebSocket;
const events: Array<{ t: number; e: ApiEvent }> = [];

function http(path: string, opts: { method?: string; headers?: Record<string, string>; body?: string | Buffer } = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: server.port, path, method: opts.method ?? 'GET', headers: opts.headers }, (res) => {
      let body = '';
      res.on('data', (b) => (body += b));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', (e) => (/ECONNRESET|EPIPE/.test(String(e)) ? resolve({ status: -1, body: '' }) : reject(e)));
    req.end(opts.body);
  });
}
async function call<T>(method: string, params: unknown = {}): Promise<{ ok: true; result: T } | { ok: false; error: { code: string; message: string } }> {
  const r = await http('/api', { method: 'POST', headers: { Authorization: `Bearer ${server.token}`, 'Content-Type': 'application/json' }, body: JSON.stringify({ method, params }) });
  expect(r.status).toBe(200);
  return JSON.parse(r.body) as never;
}
async function ok<T>(method: string, params: unknown = {}): Promise<T> {
  const r = await call<T>(method, params);
  if (!r.ok) throw new Error(`${method}: ${r.error.code}: ${r.error.message}`);
  return r.result;
}
const jobEvents = (id: string) =>
  events.flatMap(({ t, e }) => (e.type === 'datasets.jobs' ? e.jobs.filter((j) => j.id === id).map((j) => ({ t, j })) : []));
async function until<T>(what: string, fn: () => T | undefined | false, ms = 120_000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
const finished = (id: string) => until(`job ${id} to end`, () => jobEvents(id).find(({ j }) => j.state !== 'running' && j.state !== 'cancelling')?.j, 240_000);
const tempFiles = (dir: string): string[] =>
  existsSync(dir) ? readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => /\.tmp-|\.upload-/.test(f)) : [];

const train = join(texts, 'stories-train.txt');
const valid = join(texts, 'stories-valid.txt');
const trainText = stories(300_000, 1);
const validText = stories(40_000, 2);

beforeAll(async () => {
  writeFileSync(train, trainText);
  writeFileSync(valid, validText);
  backend = new Backend({ workspace: ws, host: 'serve' });
  server = await startServer({ backend, port: 0, host: '127.0.0.1', allowRemote: false });
  socket = new WebSocket(`ws://127.0.0.1:${server.port}/api/events`, { headers: { Authorization: `Bearer ${server.token}` } });
  socket.on('message', (d) => events.push({ t: Date.now(), e: JSON.parse(String(d)) as ApiEvent }));
  await new Promise((r) => socket.once('open', r));
});
afterAll(async () => {
  socket?.close();
  await server?.close();
  await backend?.close();
  rmSync(ws, { recursive: true, force: true });
  rmSync(texts, { recursive: true, force: true });
});

describe('datasets area (real backend, real child processes, real HTTP/WebSocket)', () => {
  it('prepares a dataset in a child: batched progress events, then listed with exact counts and decodable samples', async () => {
    const job = await ok<DatasetJob>('datasets.prepare', { name: 'stories', train, valid, tokenizer: { kind: 'train', vocabSize: 400, specials: ['<|endoftext|>'] } });
    expect(job.state).toBe('running');
    const end = await finished(job.id);
    expect(end.error).toBeNull();
    expect(end.state).toBe('done');
    const seen = jobEvents(job.id);
    // Every step came through (this small job's progress figures may all fall between two pushes: the big job in
    // the cancel test checks them).
    expect(end.phases.map((p) => p.task)).toEqual(['hash train', 'hash valid', 'tokenizer', 'encode train', 'encode valid']);
    expect(end.phases.every((p) => p.status === 'done')).toBe(true);
    expect(seen.length).toBeGreaterThanOrEqual(2);
    // Batched: one backend flush per ≥ 100 ms (a little slack for timer jitter on a loaded box).
    const msgs = events.filter(({ e }) => e.type === 'datasets.jobs').map(({ t }) => t);
    for (let i = 1; i < msgs.length; i++) expect(msgs[i] - msgs[i - 1]).toBeGreaterThanOrEqual(80);

    const list = await ok<DatasetSummary[]>('datasets.list');
    const ds = list.find((d) => d.name === 'stories')!;
    expect(ds).toBeDefined();
    expect(ds.train).toBe('datasets/stories/train.bin');
    expect(ds.valid).toBe('datasets/stories/valid.bin');
    expect(ds.vocabSize).toBe(400);
    // The oracle: the token files themselves, and the tokenizer that made them.
    const bin = readFileSync(join(ws, 'datasets', 'stories', 'train.bin'));
    expect(ds.tokens.train).toBe(bin.length / 2);
    expect(ds.tokens.valid).toBe(readFileSync(join(ws, 'datasets', 'stories', 'valid.bin')).length / 2);
    const tok = loadTokenizer(join(ws, 'datasets', 'stories', 'tokenizer'));
    expect(tok.decode(new Uint16Array(new Uint8Array(bin).buffer))).toBe(trainText);
    expect(ds.sources?.train.size).toBe(Buffer.byteLength(trainText));
    expect(ds.sources?.train.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(ds.tokenizer?.origin).toBe('trained');
    expect(ds.tokenizer?.specials).toEqual(['<|endoftext|>']);
    expect(existsSync(join(ws, 'datasets', '.staging', 'stories'))).toBe(false);

    const samples = await ok<DatasetSample[]>('datasets.samples', { name: 'stories', count: 3, length: 40 });
    expect(samples.map((s) => s.split)).toEqual(['train', 'train', 'train', 'valid', 'valid', 'valid']);
    expect(samples[0].offset).toBe(0);
    expect(samples[2].offset).toBe(ds.tokens.train - 40);
    for (const s of samples) {
      expect(s.ids).toHaveLength(40);
      expect(s.text).toBe(tok.decode(s.ids));
      expect(s.pieces.join('')).toBe(s.text); // ASCII text: every token decodes on its own
      expect((s.split === 'train' ? trainText : validText).includes(s.text)).toBe(true);
    }
    // Deterministic positions.
    expect(await ok<DatasetSample[]>('datasets.samples', { name: 'stories', count: 3, length: 40 })).toEqual(samples);
  });

  it('copies another dataset\'s tokenizer, or uses bytes; no validation text: no valid split, or a held-out one', async () => {
    const a = await ok<DatasetJob>('datasets.prepare', { name: 'stories-copy', train: valid, tokenizer: { kind: 'dataset', name: 'stories' } });
    const b = await ok<DatasetJob>('datasets.prepare', { name: 'stories-bytes', train: valid, tokenizer: { kind: 'bytes', specials: ['<|endoftext|>'] } });
    const c = await ok<DatasetJob>('datasets.prepare', { name: 'stories-holdout', train: valid, validFraction: 0.25, tokenizer: { kind: 'bytes', specials: ['<|endoftext|>'] } });
    expect((await finished(a.id)).state).toBe('done');
    expect((await finished(b.id)).state).toBe('done');
    expect((await finished(c.id)).phases.map((p) => p.task)).toEqual(['hash train', 'split', 'tokenizer', 'encode train', 'encode valid']);
    const list = await ok<DatasetSummary[]>('datasets.list');
    const base = list.find((d) => d.name === 'stories')!;
    const copy = list.find((d) => d.name === 'stories-copy')!;
    const bytes = list.find((d) => d.name === 'stories-bytes')!;
    expect(copy.tokenizer?.origin).toBe('copied');
    expect(copy.tokenizer?.hash).toBe(base.tokenizer?.hash);
    expect(copy.valid).toBeNull();
    expect(Object.keys(copy.tokens)).toEqual(['train']);
    expect(copy.tokens.train).toBe(base.tokens.valid); // the same text through the same tokenizer
    expect(bytes.tokenizer?.origin).toBe('bytes');
    expect(bytes.vocabSize).toBe(257);
    const nSpecial = validText.split('<|endoftext|>').length - 1;
    expect(bytes.tokens.train).toBe(Buffer.byteLength(validText) - nSpecial * ('<|endoftext|>'.length - 1));
    // Held out: the same text in two parts, cut after a document; byte level, so the counts add up to the whole.
    const held = list.find((d) => d.name === 'stories-holdout')!;
    expect(held.tokens.train + held.tokens.valid).toBe(bytes.tokens.train);
    expect(held.holdout).toMatchObject({ validFraction: 0.25, source: { path: valid } });
    const parts = ['train', 'valid'].map((s) => readFileSync(held.sources![s].path, 'utf8'));
    expect(held.sources!.valid.path).toBe(join(ws, 'datasets', 'stories-holdout', 'raw', 'valid.txt'));
    expect(parts.join('')).toBe(validText);
    expect(parts[0].endsWith('<|endoftext|>\n')).toBe(true);
    const both = await call('datasets.prepare', { name: 'both', train, valid, validFraction: 0.1, tokenizer: { kind: 'bytes', specials: [] } });
    expect(both.ok ? null : both.error.code).toBe('INVALID_ARGUMENT');
  });

  it('cancels a preparation mid-way: no dataset, nothing half-written, and it says so', async () => {
    const big = join(texts, 'big.txt');
    writeFileSync(big, stories(30_000_000, 3));
    const job = await ok<DatasetJob>('datasets.prepare', { name: 'big', train: big, tokenizer: { kind: 'train', vocabSize: 2000, specials: ['<|endoftext|>'] } });
    // Progress streams: the running step, its amount of a known total, a rate and an ETA.
    const p = await until('progress with a rate and an ETA', () => jobEvents(job.id).find(({ j }) => j.progress && j.progress.done > 0 && j.progress.rate !== null && j.progress.etaS !== null)?.j.progress ?? undefined, 120_000);
    expect(p.total).toBeGreaterThan(p.done);
    expect(p.rate).toBeGreaterThan(0);
    if (p.unit === 'bytes') expect(p.total).toBe(statSync(big).size);
    const c = await ok<DatasetJob>('datasets.cancel', { id: job.id });
    expect(['cancelling', 'cancelled']).toContain(c.state);
    const end = await finished(job.id);
    expect(end.state).toBe('cancelled');
    expect(end.error?.code).toBe('ABORTED');
    expect(existsSync(join(ws, 'datasets', 'big'))).toBe(false);
    const staging = join(ws, 'datasets', '.staging', 'big');
    expect(tempFiles(staging)).toEqual([]);
    expect(existsSync(join(staging, 'dataset.json'))).toBe(false);
    // A token file, where one exists, is complete (it has its manifest and the manifest's size).
    for (const f of readdirSync(staging).filter((n) => n.endsWith('.bin'))) {
      const m = JSON.parse(readFileSync(join(staging, `${f}.json`), 'utf8')) as { num_tokens: number };
      expect(readFileSync(join(staging, f)).length).toBe(m.num_tokens * 2);
    }
    expect((await ok<DatasetSummary[]>('datasets.list')).map((d) => d.name)).not.toContain('big');
    // Discard deletes the finished steps kept in staging.
    expect(await ok<{ removed: boolean }>('datasets.discard', { name: 'big' })).toEqual({ removed: true });
    expect(existsSync(staging)).toBe(false);
    expect(await ok<{ removed: boolean }>('datasets.discard', { name: 'big' })).toEqual({ removed: false });
  });

  it('bad inputs: invalid UTF-8 fails the job with its code; a small vocab, a taken name and a missing file fail at once', async () => {
    const bad = join(texts, 'bad.txt');
    writeFileSync(bad, Buffer.concat([Buffer.from('Once upon a time '), Buffer.from([0xff, 0xfe]), Buffer.from(' there was a cat.\n')]));
    const job = await ok<DatasetJob>('datasets.prepare', { name: 'bad', train: bad, tokenizer: { kind: 'train', vocabSize: 300, specials: [] } });
    const end = await finished(job.id);
    expect(end.state).toBe('failed');
    expect(end.error?.code).toBe('INVALID_UTF8');
    expect(end.error?.message).not.toContain('\n');
    expect(end.error?.message).toMatch(/UTF-8/);
    expect(existsSync(join(ws, 'datasets', 'bad'))).toBe(false);

    const small = await call('datasets.prepare', { name: 'small', train, tokenizer: { kind: 'train', vocabSize: 100, specials: ['<|endoftext|>'] } });
    expect(small.ok ? null : small.error.code).toBe('INVALID_ARGUMENT');
    expect(small.ok ? '' : small.error.message).toMatch(/too small.*257/);
    const taken = await call('datasets.prepare', { name: 'stories', train, tokenizer: { kind: 'bytes', specials: [] } });
    expect(taken.ok ? null : taken.error.code).toBe('FILE_EXISTS');
    const missing = await call('datasets.prepare', { name: 'nope', train: join(texts, 'nope.txt'), tokenizer: { kind: 'bytes', specials: [] } });
    expect(missing.ok ? null : missing.error.code).toBe('FILE_NOT_FOUND');
    const badName = await call('datasets.prepare', { name: '../x', train, tokenizer: { kind: 'bytes', specials: [] } });
    expect(badName.ok ? null : badName.error.code).toBe('INVALID_ARGUMENT');
    const noDialog = await call('datasets.chooseFile', {});
    expect(noDialog.ok ? null : noDialog.error.message).toMatch(/desktop app/);
  });

  it('uploads a text through /api/upload with the token (401 without), refuses one over the limit and keeps nothing of it', async () => {
    const body = Buffer.from(validText);
    const noToken = await http('/api/upload?name=v.txt', { method: 'POST', headers: { 'Content-Type': 'application/octet-stream' }, body });
    expect(noToken.status).toBe(401);
    const badOrigin = await http('/api/upload?name=v.txt', { method: 'POST', headers: { Authorization: `Bearer ${server.token}`, Origin: 'http://evil.example' }, body });
    expect(badOrigin.status).toBe(403);
    const up = await http('/api/upload?name=../../my%20stories.txt', { method: 'POST', headers: { Authorization: `Bearer ${server.token}`, 'Content-Type': 'application/octet-stream' }, body });
    expect(up.status).toBe(200);
    const r = JSON.parse(up.body) as { ok: true; result: { path: string; size: number } };
    expect(r.result.path).toBe('data/uploads/my_stories.txt');
    expect(r.result.size).toBe(body.length);
    expect(readFileSync(join(ws, r.result.path)).equals(body)).toBe(true);
    // The workspace-relative path is what datasets.prepare takes.
    const job = await ok<DatasetJob>('datasets.prepare', { name: 'uploaded', train: r.result.path, tokenizer: { kind: 'bytes', specials: ['<|endoftext|>'] } });
    expect((await finished(job.id)).state).toBe('done');

    process.env.LMWB_UPLOAD_MAX_BYTES = '1000';
    try {
      const over = await http('/api/upload?name=big.txt', { method: 'POST', headers: { Authorization: `Bearer ${server.token}` }, body });
      expect(over.status).toBe(413);
      expect(over.body).toMatch(/over the 1\.0 KB upload limit.*type the file's path/);
    } finally {
      delete process.env.LMWB_UPLOAD_MAX_BYTES;
    }
    expect(readdirSync(join(ws, 'data', 'uploads'))).toEqual(['my_stories.txt']);
    expect(tempFiles(join(ws, 'data'))).toEqual([]);
  });
});

// A full disk: a workspace on a small tmpfs (needs the right to mount, as root on the CI box; skipped elsewhere).
const tmpfs = mkdtempSync(join(tmpdir(), 'lmwb-ds-full-'));
const canMount = (() => {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=3m', 'tmpfs', tmpfs], { stdio: 'ignore' });
    return true;
  } catch {
    console.warn('skipping the full-disk dataset test: cannot mount a tmpfs here (needs root)');
    rmSync(tmpfs, { recursive: true, force: true });
    return false;
  }
})();

describe.skipIf(!canMount)('datasets area on a full disk', () => {
  afterAll(() => {
    execFileSync('umount', [tmpfs]);
    rmSync(tmpfs, { recursive: true, force: true });
  });

  it('fails the job with DISK_FULL in one line and leaves no partial token file', async () => {
    const text = join(texts, 'two-mb.txt');
    writeFileSync(text, stories(2_000_000, 9)); // byte level: ~4 MB of uint16 tokens, more than the 3 MB disk
    const updates: DatasetJob[] = [];
    const jobs = new DatasetJobs(tmpfs, (js) => updates.push(...js));
    const job = jobs.start({ name: 'full', train: text, tokenizer: { kind: 'bytes', specials: [] }, invalidUtf8: 'error' });
    const end = await jobs.settled(job.id);
    expect(end.state).toBe('failed');
    expect(end.error?.code).toBe('DISK_FULL');
    expect(end.error?.message).toMatch(/disk is full/);
    expect(end.error?.message).not.toContain('\n');
    expect(tempFiles(join(tmpfs, 'datasets'))).toEqual([]);
    expect(existsSync(join(tmpfs, 'datasets', 'full'))).toBe(false);
    expect(existsSync(join(tmpfs, 'datasets', '.staging', 'full', 'train.bin'))).toBe(false);
    await jobs.close();
  });
});
