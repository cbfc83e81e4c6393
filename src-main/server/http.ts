/**
 * `lmwb serve`'s server: the built UI and the API over HTTP (POST /api) and a WebSocket (/api/events) for live
 * events, on 127.0.0.1 by default. Every request needs the random token printed in the URL (as Jupyter does):
 * given once as `?token=`, it becomes a SameSite=Strict HttpOnly cookie; programs may send `Authorization: Bearer`.
 * Without it: 401 and nothing else. The Host header must name this server (no DNS rebinding) and an Origin, when
 * sent, must be this server's own (no cross-site requests).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { extname, join, normalize, resolve, sep } from 'node:path';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { UserError } from '../util/errors';
import type { Backend } from './backend';
import { handleUpload } from './dataset-upload';

export interface ServeOptions {
  backend: Backend;
  /** 0 picks a free port. */
  port: number;
  host: string;
  /** Needed for any host other than loopback (the caller warns). */
  allowRemote: boolean;
  /** The built renderer (index.html and assets/); absent: the API only. */
  staticDir?: string;
  /** Fixed token (tests); default 24 random bytes. */
  token?: string;
}

export interface RunningServer {
  url: string;
  /** The URL with the token, to open in a browser. */
  loginUrl: string;
  token: string;
  port: number;
  close(): Promise<void>;
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);
const MAX_BODY = 2 * 1024 * 1024;

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf',
};

/** The renderer's Content-Security-Policy (the same as the meta tag in index.html, plus frame-ancestors). */
export const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; " +
  "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

export function isLoopback(host: string): boolean {
  return LOOPBACK.has(host);
}

function sameToken(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function cookies(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0) out[part.slice(0, i).trim()] = decodeURIComponent(part.slice(i + 1).trim());
  }
  return out;
}

export async function startServer(o: ServeOptions): Promise<RunningServer> {
  if (!isLoopback(o.host) && !o.allowRemote) {
    throw new UserError(`serving on ${o.host} exposes your workspace to the network; allow it explicitly to proceed`, { code: 'INVALID_ARGUMENT', data: { host: o.host } });
  }
  const token = o.token ?? randomBytes(24).toString('hex');
  const staticDir = o.staticDir && existsSync(join(o.staticDir, 'index.html')) ? resolve(o.staticDir) : undefined;
  let port = o.port;
  const cookieName = () => `lmwb_token_${port}`;

  const hostOk = (req: IncomingMessage): boolean => {
    const h = req.headers.host;
    if (!h) return false;
    if (o.allowRemote) return true; // a remote host name is whatever the client used; the token still guards
    const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(h);
    return !!m && isLoopback(m[1]) && Number(m[2] ?? 80) === port;
  };
  const originOk = (req: IncomingMessage): boolean => {
    const origin = req.headers.origin;
    if (origin === undefined) return true; // same-origin GETs and non-browser clients send none
    return origin === `http://${req.headers.host}`;
  };
  const tokenOf = (req: IncomingMessage, url: URL): string | undefined => {
    const auth = req.headers.authorization;
    if (auth?.startsWith('Bearer ')) return auth.slice(7);
    return url.searchParams.get('token') ?? cookies(req)[cookieName()];
  };
  const authed = (req: IncomingMessage, url: URL): boolean => {
    const t = tokenOf(req, url);
    return t !== undefined && sameToken(t, token);
  };

  const deny = (res: ServerResponse, status: number, text: string) => {
    res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' });
    res.end(`${text}\n`);
  };

  const server = createServer((req, res) => {
    void handle(req, res).catch((e) => {
      if (!res.headersSent) deny(res, 500, `internal error: ${(e as Error).message}`);
      else res.destroy();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    if (!hostOk(req)) return deny(res, 403, 'forbidden host');
    if (!authed(req, url)) return deny(res, 401, 'unauthorized');
    if (!originOk(req)) return deny(res, 403, 'forbidden origin');
    const base = {
      'Cache-Control': 'no-store',
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'no-referrer',
      'Cross-Origin-Opener-Policy': 'same-origin',
    };
    if (url.searchParams.has('token') && req.method === 'GET') {
      // First visit with the token: remember it in a cookie and drop it from the address bar.
      url.searchParams.delete('token');
      res.writeHead(303, {
        ...base,
        'Set-Cookie': `${cookieName()}=${token}; HttpOnly; SameSite=Strict; Path=/`,
        Location: url.pathname + (url.search || ''),
      });
      res.end();
      return;
    }
    if (url.pathname === '/api/upload') return handleUpload(req, res, o.backend.workspace, url);
    if (url.pathname === '/api') {
      if (req.method !== 'POST') return deny(res, 405, 'POST a JSON request to /api');
      if (!(req.headers['content-type'] ?? '').startsWith('application/json')) return deny(res, 415, 'send application/json');
      const body = await readBody(req);
      if (body === undefined) return deny(res, 413, 'request too large');
      let raw: unknown;
      try {
        raw = JSON.parse(body);
      } catch {
        raw = undefined;
      }
      const answer = await o.backend.call(raw);
      res.writeHead(200, { ...base, 'Content-Type': 'application/json' });
      res.end(JSON.stringify(answer));
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') return deny(res, 405, 'method not allowed');
    if (!staticDir) return deny(res, 404, 'the UI is not built (npm run build); the API is at /api');
    let rel = decodeURIComponent(url.pathname);
    if (rel === '/' || !extname(rel)) rel = '/index.html';
    const file = normalize(join(staticDir, rel));
    if (!file.startsWith(staticDir + sep) || !existsSync(file) || !statSync(file).isFile()) return deny(res, 404, 'not found');
    res.writeHead(200, {
      ...base,
      'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream',
      'Content-Security-Policy': CSP,
      ...(rel.startsWith('/assets/') ? { 'Cache-Control': 'private, max-age=31536000, immutable' } : {}),
    });
    res.end(req.method === 'HEAD' ? undefined : readFileSync(file));
  }

  const wss = new WebSocketServer({ noServer: true, maxPayload: 1024 * 1024 });
  server.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const refuse = (status: string) => {
      socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    };
    if (!hostOk(req)) return refuse('403 Forbidden');
    if (!authed(req, url)) return refuse('401 Unauthorized');
    if (!originOk(req)) return refuse('403 Forbidden');
    if (url.pathname !== '/api/events') return refuse('404 Not Found');
    wss.handleUpgrade(req, socket, head, (ws) => attach(ws));
  });

  function attach(ws: WebSocket): void {
    const conn = o.backend.connect((e) => {
      if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(e));
    });
    ws.on('message', (data) => {
      let msg: { type?: unknown; runs?: unknown; seq?: unknown };
      try {
        msg = JSON.parse(String(data)) as typeof msg;
      } catch {
        return;
      }
      if (msg.type === 'subscribe') {
        const r = o.backend.subscribe(conn.client, { runs: msg.runs });
        ws.send(JSON.stringify({ type: 'subscribed', seq: msg.seq, response: r }));
      }
    });
    ws.on('close', () => conn.close());
    ws.on('error', () => conn.close());
  }

  await new Promise<void>((resolveListen, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) =>
      reject(e.code === 'EADDRINUSE' ? new UserError(`port ${o.port} is in use; pick another port`, { code: 'INVALID_ARGUMENT', data: { port: o.port } }) : e),
    );
    server.listen(o.port, o.host, () => resolveListen());
  });
  port = (server.address() as AddressInfo).port;
  const shownHost = o.host.includes(':') ? `[${o.host}]` : o.host === '0.0.0.0' ? '127.0.0.1' : o.host;
  const url = `http://${shownHost}:${port}/`;
  return {
    url,
    loginUrl: `${url}?token=${token}`,
    token,
    port,
    close: async () => {
      for (const c of wss.clients) c.terminate();
      wss.close();
      const closed = new Promise<void>((r) => server.close(() => r()));
      server.closeAllConnections();
      await closed;
    },
  };
}

function readBody(req: IncomingMessage): Promise<string | undefined> {
  return new Promise((resolveBody, reject) => {
    const parts: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (b: Buffer) => {
      size += b.length;
      if (size > MAX_BODY) over = true;
      else parts.push(b);
    });
    req.on('end', () => resolveBody(over ? undefined : Buffer.concat(parts).toString('utf8')));
    req.on('error', reject);
  });
}
