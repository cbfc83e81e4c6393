import { describe, expect, it, beforeAll, afterAll } from 'vitest';
import { createServer, type Server } from 'node:http';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { AddressInfo } from 'node:net';
import { spawn } from 'node:child_process';
import { download, recordPathFor } from '../../src-main/dataset/download';
import { repoRoot, scratch } from '../tokenizer/helpers';

const body = randomBytes(3 * 1024 * 1024 + 123);
const bodySha = createHash('sha256').update(body).digest('hex');
const text = Buffer.from('Once upon a time there was a tokenizer.\n'.repeat(20000));
const gz = gzipSync(text);

interface Hit { path: string; range?: string }
let server: Server;
let base: string;
const hits: Hit[] = [];
/** Paths whose next N responses are cut off after this many bytes. */
const dropPlan = new Map<string, number[]>();

beforeAll(async () => {
  server = createServer((req, res) => {
    const path = req.url ?? '/';
    hits.push({ path, range: req.headers.range });
    if (path === '/redirect') { res.writeHead(302, { location: '/file.bin' }); res.end(); return; }
    if (path === '/slow.bin') {
      // 64 KiB every 50 ms: a download that takes seconds, to abort mid-way.
      res.writeHead(200, { 'content-length': body.length });
      let off = 0;
      const t = setInterval(() => {
        if (res.destroyed || off >= body.length) { clearInterval(t); if (!res.destroyed) res.end(); return; }
        res.write(body.subarray(off, off + 65536));
        off += 65536;
      }, 50);
      res.on('close', () => clearInterval(t));
      return;
    }
    const data = path === '/file.bin' || path === '/norange.bin' ? body : path === '/owt.txt.gz' ? gz : undefined;
    if (!data) { res.writeHead(404); res.end('not found'); return; }
    let start = 0;
    const m = /bytes=(\d+)-/.exec(req.headers.range ?? '');
    if (m && path !== '/norange.bin') start = Number(m[1]);
    if (start >= data.length) { res.writeHead(416, { 'content-range': `bytes */${data.length}` }); res.end(); return; }
    const slice = data.subarray(start);
    const headers: Record<string, string | number> = { 'content-length': slice.length, 'accept-ranges': 'bytes' };
    if (start > 0) headers['content-range'] = `bytes ${start}-${data.length - 1}/${data.length}`;
    res.writeHead(start > 0 ? 206 : 200, headers);
    const plan = dropPlan.get(path);
    const cut = plan?.shift();
    if (cut !== undefined) {
      // Send part of the body, then kill the connection mid-file.
      res.write(slice.subarray(0, cut), () => setTimeout(() => res.socket?.end(), 20));
      return;
    }
    res.end(slice);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

const tmp = scratch('download');
afterAll(() => tmp.cleanup());
const fast = { retryDelayMs: 10, idleTimeoutMs: 5000 };

describe('download helper (local HTTP server on 127.0.0.1)', () => {
  it('resumes with HTTP Range after the connection drops mid-file, and checks size and sha256', async () => {
    hits.length = 0;
    dropPlan.set('/file.bin', [1_000_000, 700_000]);
    const dest = join(tmp.dir, 'a', 'file.bin');
    const notes: string[] = [];
    const rec = await download(`${base}/file.bin`, dest, { ...fast, sha256: bodySha, size: body.length, onEvent: (e) => { if (e.type === 'warning') notes.push(e.message); } });
    expect(readFileSync(dest).equals(body)).toBe(true);
    expect(rec).toMatchObject({ size: body.length, sha256: bodySha, sha256_checked: true });
    // Each retry asks for the rest from where the .part file ended (how much arrived before the drop varies).
    const ranges = hits.map((h) => h.range);
    expect(ranges.length).toBe(3);
    expect(ranges[0]).toBeUndefined();
    const r1 = Number(/bytes=(\d+)-/.exec(ranges[1] ?? '')?.[1]);
    const r2 = Number(/bytes=(\d+)-/.exec(ranges[2] ?? '')?.[1]);
    expect(r1).toBeGreaterThan(0);
    expect(r1).toBeLessThanOrEqual(1_000_000);
    expect(r2).toBeGreaterThan(r1);
    expect(r2).toBeLessThanOrEqual(r1 + 700_000);
    expect(notes.filter((n) => /retrying/.test(n)).length).toBe(2);
    expect(existsSync(`${dest}.part`)).toBe(false);
    expect(JSON.parse(readFileSync(recordPathFor(dest), 'utf8')).sha256).toBe(bodySha);
    // Running again reuses the finished file without any request.
    hits.length = 0;
    await download(`${base}/file.bin`, dest, { ...fast, sha256: bodySha });
    expect(hits).toEqual([]);
  });

  it('resumes a .part left by an interrupted earlier run (process killed), following redirects', async () => {
    dropPlan.set('/file.bin', [500_000]);
    const dest = join(tmp.dir, 'b', 'file.bin');
    await expect(download(`${base}/redirect`, dest, { ...fast, retries: 0 })).rejects.toThrow(/failed after 0 retries.*resume from byte \d+/);
    const partLen = readFileSync(`${dest}.part`).length;
    expect(partLen).toBeGreaterThan(0);
    expect(partLen).toBeLessThanOrEqual(500_000);
    hits.length = 0;
    const rec = await download(`${base}/redirect`, dest, fast);
    expect(hits.map((h) => h.range)).toEqual([`bytes=${partLen}-`, `bytes=${partLen}-`]);
    expect(rec.sha256).toBe(bodySha);
    expect(rec.sha256_checked).toBe(false);
  });

  it('starts over when the server ignores Range', async () => {
    dropPlan.set('/norange.bin', [300_000]);
    const dest = join(tmp.dir, 'c', 'norange.bin');
    const rec = await download(`${base}/norange.bin`, dest, fast);
    expect(rec.sha256).toBe(bodySha);
    expect(readFileSync(dest).equals(body)).toBe(true);
  });

  it('rejects a wrong checksum or size (removing the file) and a missing URL', async () => {
    const dest = join(tmp.dir, 'd', 'file.bin');
    await expect(download(`${base}/file.bin`, dest, { ...fast, sha256: '0'.repeat(64) })).rejects.toThrow(/checksum mismatch .* the file was removed/);
    expect(readdirSync(join(tmp.dir, 'd'))).toEqual([]);
    await expect(download(`${base}/file.bin`, dest, { ...fast, size: 5 })).rejects.toThrow(/expected size is 5 bytes/);
    await expect(download(`${base}/file.bin`, dest, { ...fast, size: 5 })).rejects.toMatchObject({ code: 'FILE_INVALID', data: { expectedSize: 5 } });
    await expect(download(`${base}/nothing.txt`, join(tmp.dir, 'd', 'x.txt'), fast)).rejects.toThrow(/HTTP 404/);
    await expect(download(`${base}/file.bin`, dest, { ...fast, sha256: 'xyz' })).rejects.toThrow(/64 hex digits/);
  });

  it('stops promptly on abort: AbortedError, no target file, no temporary files; the .part is kept for resuming', async () => {
    const dir = join(tmp.dir, 'abort');
    const dest = join(dir, 'slow.bin');
    const ac = new AbortController();
    let progressed = 0;
    const p = download(`${base}/slow.bin`, dest, { ...fast, signal: ac.signal, onEvent: (e) => { if (e.type === 'progress') progressed = e.done; } });
    await new Promise((r) => setTimeout(r, 400));
    const t0 = performance.now();
    ac.abort();
    await expect(p).rejects.toMatchObject({ code: 'ABORTED' });
    expect(performance.now() - t0).toBeLessThan(500);
    expect(progressed).toBeGreaterThan(0);
    expect(progressed).toBeLessThan(body.length);
    expect(existsSync(dest)).toBe(false);
    expect(readdirSync(dir).sort()).toEqual(['slow.bin.part']);
    // An already-aborted signal does nothing at all.
    await expect(download(`${base}/file.bin`, join(dir, 'never.bin'), { ...fast, signal: AbortSignal.abort() })).rejects.toMatchObject({ code: 'ABORTED' });
    expect(existsSync(join(dir, 'never.bin.part'))).toBe(false);
  });

  it('decompresses .gz downloads (the OWT sample files) and records both', async () => {
    const dest = join(tmp.dir, 'e', 'owt.txt.gz');
    const rec = await download(`${base}/owt.txt.gz`, dest, { ...fast, gunzip: true });
    expect(readFileSync(join(tmp.dir, 'e', 'owt.txt')).equals(text)).toBe(true);
    expect(rec).toMatchObject({ gunzipped_to: 'owt.txt', gunzipped_size: text.length, size: gz.length });
  });

  it('`lmwb dataset download` works from the command line', async () => {
    const out = join(tmp.dir, 'cli');
    // Asynchronous spawn: the server lives in this process and must keep answering.
    const child = spawn(process.execPath, [join(repoRoot, 'bin', 'lmwb.mjs'), 'dataset', 'download', `${base}/file.bin`, '--out', out, '--sha256', bodySha]);
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    const status = await new Promise<number | null>((r) => child.on('close', r));
    expect(status, stderr).toBe(0);
    expect(stderr).toContain('matches --sha256');
    expect(readFileSync(join(out, 'file.bin')).equals(body)).toBe(true);
  });
});
