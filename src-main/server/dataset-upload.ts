/**
 * `POST /api/upload?name=FILE` for `lmwb serve` (the browser cannot hand the server a path on the user's laptop):
 * the raw bytes of one text file, streamed to `<workspace>/data/uploads/.NAME.upload-…` and renamed to
 * `data/uploads/NAME` (made unique: `NAME-2.txt`, …) only when complete, so a dropped connection leaves nothing.
 * The answer is `{ok, result: {path, size}}` with the workspace-relative path `datasets.prepare` takes. Uploads
 * above the limit (LMWB_UPLOAD_MAX_BYTES, default 2 GB) are refused with 413 and a message saying what to do.
 * The caller (server/http.ts) has already checked the Host header, the token and the Origin, as for /api.
 */
import { createWriteStream, existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomBytes } from 'node:crypto';
import { basename, extname, join } from 'node:path';

export const DEFAULT_UPLOAD_LIMIT = 2e9;

export function uploadLimit(): number {
  const v = Number(process.env.LMWB_UPLOAD_MAX_BYTES);
  return Number.isFinite(v) && v > 0 ? v : DEFAULT_UPLOAD_LIMIT;
}

function fmtBytes(n: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let v = n;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${v.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}

/** A safe file name from what the client sent: its last path part, odd characters replaced. */
export function uploadName(raw: string | null): string {
  const base = basename((raw ?? '').replace(/\\/g, '/')).replace(/[^A-Za-z0-9._-]/g, '_').replace(/^[._]+/, '');
  return (base || 'upload.txt').slice(0, 120);
}

function unique(dir: string, name: string): string {
  if (!existsSync(join(dir, name))) return name;
  const ext = extname(name);
  const stem = name.slice(0, name.length - ext.length);
  for (let i = 2; ; i++) if (!existsSync(join(dir, `${stem}-${i}${ext}`))) return `${stem}-${i}${ext}`;
}

function answer(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff' });
  res.end(JSON.stringify(body));
}

function refuse(res: ServerResponse, status: number, code: string, message: string, req: IncomingMessage): void {
  answer(res, status, { ok: false, error: { code, message } });
  // Do not read the rest of a refused body: close the connection once the answer is out.
  res.once('finish', () => req.destroy());
}

export async function handleUpload(req: IncomingMessage, res: ServerResponse, workspace: string, url: URL): Promise<void> {
  if (req.method !== 'POST') return refuse(res, 405, 'INVALID_ARGUMENT', 'POST the file\'s bytes to /api/upload?name=FILE', req);
  const limit = uploadLimit();
  const name = uploadName(url.searchParams.get('name'));
  const tooBig = (size: number) =>
    `${name} is ${fmtBytes(size)}, over the ${fmtBytes(limit)} upload limit: on the machine that runs lmwb serve, type the file's path instead (or raise LMWB_UPLOAD_MAX_BYTES)`;
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) return refuse(res, 413, 'FILE_TOO_LARGE', tooBig(declared), req);
  if (declared === 0) return refuse(res, 400, 'FILE_INVALID', `${name} is empty`, req);
  const dir = join(workspace, 'data', 'uploads');
  mkdirSync(dir, { recursive: true });
  const tmp = join(dir, `.${name}.upload-${randomBytes(4).toString('hex')}`);
  const out = createWriteStream(tmp, { flags: 'wx' });
  let size = 0;
  let over = false;
  const done = await new Promise<'ok' | 'over' | 'aborted' | Error>((resolve) => {
    out.on('error', (e) => resolve(e));
    req.on('aborted', () => resolve('aborted'));
    req.on('error', () => resolve('aborted'));
    req.on('data', (b: Buffer) => {
      if (over) return;
      size += b.length;
      if (size > limit) {
        over = true;
        req.pause();
        resolve('over');
        return;
      }
      if (!out.write(b)) {
        req.pause();
        out.once('drain', () => req.resume());
      }
    });
    req.on('end', () => {
      if (!over) out.end(() => resolve('ok'));
    });
  });
  if (done !== 'ok') {
    out.destroy();
    rmSync(tmp, { force: true });
    if (done === 'over') return refuse(res, 413, 'FILE_TOO_LARGE', tooBig(size), req);
    if (done === 'aborted') return;
    const code = (done as NodeJS.ErrnoException).code === 'ENOSPC' ? 'DISK_FULL' : 'FILE_NOT_WRITABLE';
    return refuse(res, 500, code, `could not store the upload in ${dir}: ${done.message}`, req);
  }
  if (size === 0) {
    rmSync(tmp, { force: true });
    return refuse(res, 400, 'FILE_INVALID', `${name} is empty`, req);
  }
  const final = unique(dir, name);
  renameSync(tmp, join(dir, final));
  answer(res, 200, { ok: true, result: { path: `data/uploads/${final}`, size } });
}
