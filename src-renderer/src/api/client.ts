/**
 * The renderer's one API client, with two transports: the desktop app's preload bridge (IPC, when `window.lmwb`
 * exists) or HTTP + WebSocket to `lmwb serve` (the token travels in an HttpOnly cookie set when the page was
 * opened with it). Both speak the contract in src-main/api/contract.ts; the backend validates every call.
 */
import type { ApiEvent, Method, Params, Response, Result } from '../../../src-main/api/contract';
import type { LmwbBridge } from './bridge';

declare global {
  interface Window {
    lmwb?: LmwbBridge;
  }
}

export class ApiError extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
    this.name = 'ApiError';
  }
}

export interface Transport {
  readonly kind: 'ipc' | 'http';
  send(request: { method: string; params?: unknown }): Promise<Response>;
  subscribe(runs: Array<{ id: string; from: number }>): void;
  onEvent(listener: (e: ApiEvent) => void): () => void;
  /** Saves a file: a save dialog in the app, a download in the browser. */
  save(filename: string, mime: string, base64: string): Promise<string | null>;
}

export class ApiClient {
  constructor(readonly transport: Transport) {}

  async call<M extends Method>(method: M, params?: Params<M>): Promise<Result<M>> {
    const r = await this.transport.send({ method, params: params ?? {} });
    if (!r.ok) throw new ApiError(r.error.code, r.error.message);
    return r.result as Result<M>;
  }

  subscribe(runs: Array<{ id: string; from: number }>): void {
    this.transport.subscribe(runs);
  }

  onEvent(listener: (e: ApiEvent) => void): () => void {
    return this.transport.onEvent(listener);
  }
}

export function ipcTransport(bridge: LmwbBridge): Transport {
  return {
    kind: 'ipc',
    send: (req) => bridge.call(req),
    subscribe: (runs) => void bridge.subscribe(runs),
    onEvent: (l) => bridge.onEvent(l),
    save: (filename, _mime, base64) => bridge.saveFile(filename, base64),
  };
}

/** HTTP for calls, one WebSocket (reconnecting) for events; subscriptions are re-sent after a reconnect. */
export function httpTransport(base = location.origin): Transport {
  const listeners = new Set<(e: ApiEvent) => void>();
  let ws: WebSocket | undefined;
  let subs: Array<{ id: string; from: number }> = [];
  let retry = 500;
  const open = () => {
    ws = new WebSocket(`${base.replace(/^http/, 'ws')}/api/events`);
    ws.onopen = () => {
      retry = 500;
      ws?.send(JSON.stringify({ type: 'subscribe', runs: subs }));
      for (const l of listeners) l({ type: 'notice', level: 'info', message: 'connected' });
    };
    ws.onmessage = (m) => {
      const e = JSON.parse(String(m.data)) as ApiEvent | { type: 'subscribed' };
      if (e.type === 'subscribed') return;
      for (const l of listeners) l(e);
    };
    ws.onclose = () => {
      ws = undefined;
      for (const l of listeners) l({ type: 'notice', level: 'warning', message: 'disconnected from the server; reconnecting' });
      setTimeout(open, retry);
      retry = Math.min(retry * 2, 10_000);
    };
  };
  return {
    kind: 'http',
    async send(req) {
      const res = await fetch(`${base}/api`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(req),
        credentials: 'same-origin',
      });
      if (res.status === 401) return { ok: false, error: { code: 'UNAUTHORIZED', message: 'the server wants its token: open the URL that `lmwb serve` printed' } };
      if (!res.ok) return { ok: false, error: { code: 'HTTP', message: `${res.status} ${await res.text()}` } };
      return (await res.json()) as Response;
    },
    subscribe(runs) {
      subs = runs;
      if (ws?.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: 'subscribe', runs }));
    },
    onEvent(l) {
      listeners.add(l);
      if (!ws) open();
      return () => listeners.delete(l);
    },
    async save(filename, mime, base64) {
      const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
      const url = URL.createObjectURL(new Blob([bytes], { type: mime }));
      const a = document.createElement('a');
      a.href = url;
      a.download = filename;
      document.body.appendChild(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
      return filename;
    },
  };
}

let client: ApiClient | undefined;
/** The app's client: IPC inside the desktop app, HTTP + WebSocket in a browser. */
export function api(): ApiClient {
  client ??= new ApiClient(window.lmwb ? ipcTransport(window.lmwb) : httpTransport());
  return client;
}
/** Tests and embedding: use another transport. */
export function setApi(c: ApiClient): void {
  client = c;
}
