// Downloading the assignment's raw files: resumable (HTTP Range on a .part file, automatic retries when the
// connection drops), size and sha256 checks, optional gunzip, a JSON record beside the file. Only checksums the
// user supplies are checked; the one computed after download is recorded for later runs. Events: ProgressEvent
// 'download' (bytes), WarningEvent for retries and restarts, PhaseEvent 'download' reused/done. An AbortSignal
// stops it promptly (AbortedError): the request is destroyed, the .part file is kept on purpose (the next call
// resumes from it), the target and a decompressed file are only ever renamed into place when complete.
import { createReadStream, createWriteStream, existsSync, readFileSync, renameSync, rmSync, statSync, truncateSync } from 'node:fs';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { basename, dirname, join } from 'node:path';
import { mkdirSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { AbortedError, throwIfAborted, UserError } from '../util/errors';
import type { DataEvent } from '../engine/events';
import { tempPathFor, writeFileAtomic } from '../util/atomic-write';
import { sha256File } from './hash';

/** The CS336 assignment 1 data (URLs as in the handout). */
export const KNOWN_SOURCES: Record<string, { url: string; description: string }> = {
  'tinystories-train': {
    url: 'https://huggingface.co/datasets/roneneldan/TinyStories/resolve/main/TinyStoriesV2-GPT4-train.txt',
    description: 'TinyStoriesV2-GPT4 train split (about 2.1 GB)',
  },
  'tinystories-valid': {
    url: 'https://huggingface.co/datasets/roneneldan/TinyStories/resolve/main/TinyStoriesV2-GPT4-valid.txt',
    description: 'TinyStoriesV2-GPT4 validation split (about 22 MB)',
  },
  'owt-train': {
    url: 'https://huggingface.co/datasets/stanford-cs336/owt-sample/resolve/main/owt_train.txt.gz',
    description: 'OpenWebText sample, train (gzip; about 11 GB of text)',
  },
  'owt-valid': {
    url: 'https://huggingface.co/datasets/stanford-cs336/owt-sample/resolve/main/owt_valid.txt.gz',
    description: 'OpenWebText sample, validation (gzip)',
  },
};

export interface DownloadOptions {
  /** Expected sha256 (hex) of the downloaded file (the .gz when the URL is one). */
  sha256?: string;
  /** Expected size in bytes of the downloaded file. */
  size?: number;
  /** Decompress a .gz download into the file without .gz (default false). */
  gunzip?: boolean;
  /** Attempts after a dropped connection (default 8). */
  retries?: number;
  /** Milliseconds before the first retry; doubles each time (default 1000). */
  retryDelayMs?: number;
  /** A connection with no data for this long counts as dropped (default 60000). */
  idleTimeoutMs?: number;
  onEvent?: (e: DataEvent) => void;
  /** Cancels the download (AbortedError); the .part file stays for resuming. */
  signal?: AbortSignal;
}

export interface DownloadRecord {
  url: string;
  file: string;
  size: number;
  sha256: string;
  sha256_checked: boolean;
  gunzipped_to?: string;
  gunzipped_size?: number;
  downloaded_at: string;
}

export function recordPathFor(file: string): string {
  return `${file}.download.json`;
}

class RetryableError extends Error {}

function get(url: string, headers: Record<string, string>, idleTimeoutMs: number, signal?: AbortSignal): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    let u: URL;
    try { u = new URL(url); } catch { reject(new UserError(`not a valid URL: ${url}`, { code: 'INVALID_ARGUMENT', data: { url } })); return; }
    const req = (u.protocol === 'https:' ? httpsRequest : u.protocol === 'http:' ? httpRequest : undefined)?.(u, { headers: { 'user-agent': 'lmwb', ...headers }, signal }, resolve);
    if (!req) { reject(new UserError(`unsupported URL scheme ${u.protocol} (use http or https)`, { code: 'INVALID_ARGUMENT', data: { url } })); return; }
    req.setTimeout(idleTimeoutMs, () => req.destroy(new RetryableError(`no response from ${u.host} for ${idleTimeoutMs / 1000} s`)));
    req.on('error', (err) => reject(signal?.aborted ? new AbortedError('download') : err instanceof RetryableError ? err : new RetryableError(`${(err as NodeJS.ErrnoException).code ?? err.message}`)));
    req.end();
  });
}

/** Follows redirects; returns the final response. */
async function getFollow(url: string, headers: Record<string, string>, idleTimeoutMs: number, signal?: AbortSignal): Promise<IncomingMessage> {
  let current = url;
  for (let hop = 0; hop < 10; hop++) {
    const res = await get(current, headers, idleTimeoutMs, signal);
    const code = res.statusCode ?? 0;
    if (code >= 300 && code < 400 && res.headers.location) {
      res.resume();
      current = new URL(res.headers.location, current).href;
      continue;
    }
    return res;
  }
  throw new UserError(`too many redirects for ${url}`, { code: 'NETWORK', data: { url, redirects: 10 } });
}

/**
 * Downloads url to dest (resuming dest.part if present). Returns the record also written to dest.download.json.
 * A complete earlier download (record present, same URL, checksum matching when given) is reused.
 */
export async function download(url: string, dest: string, opts: DownloadOptions = {}): Promise<DownloadRecord> {
  const retries = opts.retries ?? 8;
  const idle = opts.idleTimeoutMs ?? 60_000;
  const expectSha = opts.sha256?.toLowerCase();
  const signal = opts.signal;
  const ev = opts.onEvent ?? (() => {});
  const warn = (code: string, message: string, data?: Record<string, unknown>) => ev({ type: 'warning', code, message, data });
  if (expectSha !== undefined && !/^[0-9a-f]{64}$/.test(expectSha)) throw new UserError(`the expected sha256 must be 64 hex digits, got ${JSON.stringify(opts.sha256)}`, { code: 'INVALID_ARGUMENT', data: { sha256: opts.sha256 } });
  throwIfAborted(signal, 'download');
  mkdirSync(dirname(dest), { recursive: true });
  const recPath = recordPathFor(dest);
  if (existsSync(dest) && existsSync(recPath)) {
    try {
      const rec = JSON.parse(readFileSync(recPath, 'utf8')) as DownloadRecord;
      const sizeOk = statSync(dest).size === rec.size && (opts.size === undefined || opts.size === rec.size);
      if (rec.url === url && sizeOk && (expectSha === undefined || expectSha === rec.sha256)) {
        ev({ type: 'phase', task: 'download', status: 'reused', detail: `${dest} is already downloaded (${rec.size} bytes, sha256 ${rec.sha256.slice(0, 12)}…); reusing it`, data: { path: dest, size: rec.size, sha256: rec.sha256 } });
        return rec;
      }
    } catch { /* re-download */ }
  }
  const part = `${dest}.part`;
  let total: number | undefined;
  let attempt = 0;
  for (;;) {
    let offset = existsSync(part) ? statSync(part).size : 0;
    try {
      const res = await getFollow(url, offset > 0 ? { range: `bytes=${offset}-` } : {}, idle, signal);
      const code = res.statusCode ?? 0;
      if (code === 416 && offset > 0) {
        res.resume();
        // Range starts at or past the end: either complete already, or the .part is from another file.
        if (total !== undefined && offset === total) break;
        warn('DOWNLOAD_RESTART', `server rejected resuming at byte ${offset}; starting over`, { offset });
        truncateSync(part, 0);
        continue;
      }
      if (code === 404 || code === 403 || code === 401 || code === 410) {
        res.resume();
        throw new UserError(`download of ${url} failed: HTTP ${code}; check the URL (or your access to it)`, { code: 'NETWORK', data: { url, status: code } });
      }
      if (code !== 200 && code !== 206) {
        res.resume();
        throw new RetryableError(`HTTP ${code}`);
      }
      const len = res.headers['content-length'] !== undefined ? Number(res.headers['content-length']) : undefined;
      if (code === 206) {
        const m = /bytes (\d+)-(\d+)\/(\d+|\*)/.exec(String(res.headers['content-range'] ?? ''));
        if (!m || Number(m[1]) !== offset) {
          res.resume();
          warn('DOWNLOAD_RESTART', 'server sent an unexpected range; starting over', { offset });
          truncateSync(part, 0);
          continue;
        }
        if (m[3] !== '*') total = Number(m[3]);
      } else {
        if (offset > 0) warn('DOWNLOAD_RESTART', 'server does not support resuming (no HTTP Range); starting over', { offset });
        offset = 0;
        if (existsSync(part)) truncateSync(part, 0);
        total = len;
      }
      if (total !== undefined && opts.size !== undefined && total !== opts.size) {
        res.resume();
        throw new UserError(`${url} is ${total} bytes but the expected size is ${opts.size} bytes; the file on the server differs from what you expect`, { code: 'FILE_INVALID', data: { url, size: total, expectedSize: opts.size } });
      }
      let received = offset;
      const progress = () => ev({ type: 'progress', task: 'download', done: received, ...(total !== undefined ? { total } : {}), unit: 'bytes' });
      progress();
      let lastEmit = performance.now();
      res.on('data', (c: Buffer) => {
        received += c.length;
        const now = performance.now();
        if (now - lastEmit >= 100) { lastEmit = now; progress(); }
      });
      const ws = createWriteStream(part, { flags: offset > 0 ? 'a' : 'w' });
      try {
        await pipeline(res, ws, { signal });
        progress();
      } catch (err) {
        if (signal?.aborted) throw new AbortedError('download');
        const code2 = (err as NodeJS.ErrnoException).code;
        if (code2 === 'ENOSPC') throw new UserError(`the disk is full while downloading to ${part}; free space and download again (it resumes where it stopped)`, { code: 'DISK_FULL', data: { path: part } });
        throw new RetryableError(`connection dropped at byte ${received} (${code2 ?? (err as Error).message})`);
      }
      const have = statSync(part).size;
      if (total !== undefined && have < total) throw new RetryableError(`connection dropped at byte ${have} of ${total}`);
      if (total !== undefined && have > total) {
        rmSync(part, { force: true });
        throw new UserError(`received ${have} bytes but the server announced ${total}; the partial file was removed, download again`, { code: 'NETWORK', data: { url, received: have, announced: total } });
      }
      if (total === undefined) total = have;
      break;
    } catch (err) {
      if (signal?.aborted) throw new AbortedError('download');
      if (!(err instanceof RetryableError)) throw err;
      attempt++;
      if (attempt > retries) {
        const at = existsSync(part) ? statSync(part).size : 0;
        throw new UserError(`download of ${url} failed after ${retries} retries: ${err.message}. Download again to resume from byte ${at}`, { code: 'NETWORK', data: { url, retries, resumeAt: at, reason: err.message } });
      }
      const delay = (opts.retryDelayMs ?? 1000) * 2 ** (attempt - 1);
      warn('DOWNLOAD_RETRY', `${err.message}; retrying in ${(delay / 1000).toFixed(1)} s (attempt ${attempt} of ${retries}), resuming where it stopped`, { attempt, retries, delayMs: delay });
      await sleep(delay, signal);
    }
  }
  const size = statSync(part).size;
  if (opts.size !== undefined && size !== opts.size) {
    rmSync(part, { force: true });
    throw new UserError(`downloaded ${size} bytes but the expected size is ${opts.size} bytes; the file was removed`, { code: 'FILE_INVALID', data: { url, size, expectedSize: opts.size } });
  }
  const sha = await sha256File(part, undefined, signal);
  if (expectSha !== undefined && sha !== expectSha) {
    rmSync(part, { force: true });
    throw new UserError(`checksum mismatch for ${url}: expected sha256 ${expectSha}, got ${sha}; the file was removed. Download again, or check the checksum`, { code: 'FILE_INVALID', data: { url, expectedSha256: expectSha, sha256: sha } });
  }
  renameSync(part, dest);
  const rec: DownloadRecord = { url, file: basename(dest), size, sha256: sha, sha256_checked: expectSha !== undefined, downloaded_at: new Date().toISOString() };
  if (opts.gunzip) {
    const out = dest.replace(/\.gz$/, '');
    if (out === dest) throw new UserError(`decompressing needs a .gz file, got ${dest}`, { code: 'INVALID_ARGUMENT', data: { path: dest } });
    const tmp = tempPathFor(out);
    try {
      await pipeline(createReadStream(dest), createGunzip(), createWriteStream(tmp), { signal });
      throwIfAborted(signal, 'download');
      renameSync(tmp, out);
    } catch (err) {
      rmSync(tmp, { force: true });
      if (signal?.aborted) throw new AbortedError('download');
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOSPC') throw new UserError(`the disk is full while decompressing to ${out}; the partial output was removed`, { code: 'DISK_FULL', data: { path: out } });
      throw new UserError(`cannot decompress ${dest}: ${(err as Error).message}`, { code: 'FILE_INVALID', data: { path: dest } });
    }
    rec.gunzipped_to = basename(out);
    rec.gunzipped_size = statSync(out).size;
  }
  writeFileAtomic(recPath, JSON.stringify(rec, null, 2) + '\n');
  ev({ type: 'phase', task: 'download', status: 'done', detail: dest, data: { path: dest, size, sha256: sha } });
  return rec;
}

/** Waits `ms`, or rejects with AbortedError as soon as `signal` fires. */
function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) { reject(new AbortedError('download')); return; }
    const onAbort = () => { clearTimeout(t); reject(new AbortedError('download')); };
    const t = setTimeout(() => { signal?.removeEventListener('abort', onAbort); resolve(); }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** The file name a URL downloads to. */
export function fileNameFor(url: string): string {
  const name = basename(new URL(url).pathname);
  return name || 'download';
}

export function defaultDest(url: string, dir: string): string {
  return join(dir, fileNameFor(url));
}
