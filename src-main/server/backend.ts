/**
 * The workbench backend: answers the API (src-main/api/contract.ts) over one workspace and pushes live events.
 * Transport-free: `lmwb serve` wraps it in HTTP + WebSocket, the Electron main process in IPC. Every request is
 * validated here (the UI is untrusted); runs are named by id and resolved inside the workspace only.
 */
import { readdirSync, readFileSync, statSync, watch, type FSWatcher } from 'node:fs';
import { join } from 'node:path';
import { diffConfigs } from '../runs/diff';
import { FINISHED_STATES, RUN_FILES, RunMetaSchema, type RunMeta } from '../runs/format';
import { readConfig, readMeta, readSamples, readStatus, runsRoot } from '../runs/read';
import { writeFileAtomic } from '../util/atomic-write';
import { errorInfo, UserError } from '../util/errors';
import {
  parseRequest, type ApiEvent, type ChartSpec, type ExportOptions, type ExportResult, type Method, type MetricsChunk,
  type ParsedParams, type Response, type Result, type RunDetail, type RunSummary, type WorkspaceInfo,
} from '../api/contract';
import { RunIndex } from './run-index';
import { readMetricsFrom } from './tail';
import { Launcher } from './launcher';
import type { AreaHandlers, HandlerContext } from './areas/context';
import { createCheckpointsHandlers } from './areas/checkpoints';
import { createDatasetsHandlers } from './areas/datasets';
import { createNewRunHandlers } from './areas/new-run';
import { createPlaygroundHandlers } from './areas/playground';
import { createQueueHandlers } from './areas/queue';

/** Renders a chart export (the charts module's exporter, wired in by the front end). */
export type ChartExporter = (workspace: string, spec: ChartSpec, options: ExportOptions) => Promise<ExportResult>;

export interface BackendOptions {
  workspace: string;
  host: WorkspaceInfo['host'];
  exportChart?: ChartExporter;
  /** Milliseconds between pushes (≥ 100: at most ~10 updates a second). */
  flushMs?: number;
}

/** One connected UI: receives events, holds its live subscriptions (run id → byte offset read so far). */
export interface Client {
  subscriptions: Map<string, number>;
  send(e: ApiEvent): void;
}

const VERSION = (() => {
  try {
    return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return 'dev';
  }
})();

export class Backend {
  readonly index: RunIndex;
  readonly launcher: Launcher;
  private clients = new Set<Client>();
  private dirty = new Set<string>();
  private fullRefresh = true;
  private timer: NodeJS.Timeout | undefined;
  private lastFlush = 0;
  private poll: NodeJS.Timeout | undefined;
  private rootWatcher: FSWatcher | undefined;
  private runWatchers = new Map<string, FSWatcher>();
  private readonly flushMs: number;
  /** Each run's row as last pushed to the UIs (what a change is measured against). */
  private pushed = new Map<string, RunSummary>();
  /** Each view area's handlers (./areas/), asked before the core methods below. */
  private readonly areas: AreaHandlers[];

  constructor(readonly opts: BackendOptions) {
    this.index = new RunIndex(opts.workspace);
    this.launcher = new Launcher(opts.workspace, (id) => this.markDirty(id), (message) => this.notice('error', message));
    this.flushMs = Math.max(100, opts.flushMs ?? 100);
    const ctx: HandlerContext = {
      workspace: opts.workspace,
      index: this.index,
      launcher: this.launcher,
      requireRun: (id) => this.requireRun(id),
      markDirty: (id) => this.markDirty(id),
      refreshAll: () => {
        this.fullRefresh = true;
        this.schedule();
      },
      broadcast: (e) => {
        for (const c of this.clients) c.send(e);
      },
    };
    this.areas = [
      createNewRunHandlers(ctx),
      createQueueHandlers(ctx),
      createCheckpointsHandlers(ctx),
      createPlaygroundHandlers(ctx),
      createDatasetsHandlers(ctx),
    ];
  }

  get workspace(): string {
    return this.index.workspace;
  }

  /** Validates and answers one request; never throws (errors come back as `{ok: false}` with a code). */
  async call(raw: unknown): Promise<Response> {
    const req = parseRequest(raw);
    if (!req.ok) return { ok: false, error: req.error };
    try {
      const result = await this.dispatch(req.method, req.params);
      return { ok: true, result } as Response;
    } catch (e) {
      const info = errorInfo(e);
      // Unknown (internal) errors cross without their stack: the UI gets the message and a generic code.
      return { ok: false, error: { code: info.data.internal ? 'INTERNAL' : info.code, message: info.message } };
    }
  }

  /** A typed call for in-process front ends and tests. */
  async request<M extends Method>(method: M, params: unknown = {}): Promise<Result<M>> {
    const r = await this.call({ method, params });
    if (!r.ok) throw new UserError(r.error.message, { code: 'INVALID_ARGUMENT', data: { apiCode: r.error.code } });
    return r.result as Result<M>;
  }

  private async dispatch(method: Method, p: unknown): Promise<unknown> {
    for (const area of this.areas) {
      const handler = area.methods[method] as ((params: unknown) => unknown) | undefined;
      if (handler) return handler(p);
    }
    switch (method) {
      case 'workspace.info':
        return this.info();
      case 'runs.list':
        return this.index.refresh().runs;
      case 'runs.get':
        return this.detail((p as ParsedParams<'runs.get'>).id);
      case 'runs.metrics': {
        const q = p as ParsedParams<'runs.metrics'>;
        this.requireRun(q.id);
        const r = readMetricsFrom(join(this.index.dir(q.id), RUN_FILES.metrics), q.from);
        const chunk: MetricsChunk = { id: q.id, ...r };
        return chunk;
      }
      case 'runs.updateMeta':
        return this.updateMeta(p as ParsedParams<'runs.updateMeta'>);
      case 'runs.diff': {
        const q = p as ParsedParams<'runs.diff'>;
        const configs = q.ids.map((id) => {
          this.requireRun(id);
          return readConfig(this.index.dir(id)) ?? {};
        });
        return diffConfigs(configs, ['name', 'out_dir', 'data.']);
      }
      case 'runs.start': {
        const q = p as ParsedParams<'runs.start'>;
        const id = this.launcher.start(q);
        this.fullRefresh = true;
        this.schedule();
        return { id };
      }
      case 'runs.stop': {
        const { id } = p as ParsedParams<'runs.stop'>;
        this.requireRun(id);
        return { id, state: await this.launcher.stop(id) };
      }
      case 'runs.resume': {
        const { id } = p as ParsedParams<'runs.resume'>;
        this.requireRun(id);
        return { id, state: await this.launcher.resume(id) };
      }
      case 'charts.export': {
        const q = p as ParsedParams<'charts.export'>;
        for (const id of q.spec.runs) this.requireRun(id);
        if (!this.opts.exportChart) throw new UserError('chart export is not available in this build', { code: 'USER_ERROR' });
        return this.opts.exportChart(this.workspace, q.spec, q.options);
      }
      case 'workspace.choose':
        // The desktop app answers this itself (a folder dialog, then a new backend); a browser cannot.
        throw new UserError('opening another workspace needs the desktop app; in the browser, restart the server on the folder you want', { code: 'INVALID_ARGUMENT' });
      case 'live.subscribe':
        // Handled per client by subscribe(); a plain call (no client) only validates.
        return { ids: (p as ParsedParams<'live.subscribe'>).runs.map((r) => r.id) };
    }
  }

  info(): WorkspaceInfo {
    return {
      workspace: this.workspace,
      runCount: this.index.cached().length || this.index.refresh().runs.length,
      canTrain: true,
      host: this.opts.host,
      version: VERSION,
    };
  }

  private requireRun(id: string): void {
    if (!this.index.get(id)) throw new UserError(`no run "${id}" in workspace ${this.workspace}`, { code: 'RUN_NOT_FOUND', data: { id } });
  }

  private detail(id: string): RunDetail {
    this.requireRun(id);
    const dir = this.index.dir(id);
    const summary = this.index.get(id)!;
    let checkpoints: RunDetail['checkpoints'] = [];
    try {
      checkpoints = readdirSync(join(dir, RUN_FILES.checkpoints))
        .filter((f) => /^step_\d+\.safetensors$/.test(f))
        .sort()
        .map((file) => ({ file, step: Number(/\d+/.exec(file)![0]), bytes: statSync(join(dir, RUN_FILES.checkpoints, file)).size }));
    } catch {
      /* no checkpoints yet */
    }
    return {
      summary,
      config: readConfig(dir) ?? {},
      status: readStatus(dir) ?? null,
      meta: readMeta(dir) ?? { name: summary.name, tags: [], notes: '' },
      samples: readSamples(dir),
      checkpoints,
    };
  }

  private updateMeta(q: ParsedParams<'runs.updateMeta'>): RunMeta {
    this.requireRun(q.id);
    const dir = this.index.dir(q.id);
    const cur = readMeta(dir) ?? { name: this.index.get(q.id)!.name, tags: [], notes: '' };
    const next = RunMetaSchema.parse({
      ...cur,
      ...(q.name !== undefined ? { name: q.name } : {}),
      ...(q.tags !== undefined ? { tags: [...new Set(q.tags)] } : {}),
      ...(q.notes !== undefined ? { notes: q.notes } : {}),
    });
    writeFileAtomic(join(dir, RUN_FILES.meta), `${JSON.stringify(next, null, 2)}\n`);
    this.markDirty(q.id);
    return next;
  }

  // ── live events ──────────────────────────────────────────────────────────────────────────────────────
  /** Registers a UI; events start flowing. Returns a function that disconnects it. */
  connect(send: (e: ApiEvent) => void): { client: Client; close: () => void } {
    const client: Client = { subscriptions: new Map(), send };
    this.clients.add(client);
    this.startWatching();
    return {
      client,
      close: () => {
        this.clients.delete(client);
        if (!this.clients.size) this.stopWatching();
      },
    };
  }

  /** Sets a client's live subscriptions (validated like any request). */
  subscribe(client: Client, raw: unknown): Response<'live.subscribe'> {
    const req = parseRequest({ method: 'live.subscribe', params: raw });
    if (!req.ok) return { ok: false, error: req.error };
    const runs = (req.params as ParsedParams<'live.subscribe'>).runs.filter((r) => this.index.get(r.id));
    client.subscriptions = new Map(runs.map((r) => [r.id, r.from]));
    for (const r of runs) this.markDirty(r.id);
    return { ok: true, result: { ids: runs.map((r) => r.id) } };
  }

  private notice(level: 'info' | 'warning' | 'error', message: string): void {
    for (const c of this.clients) c.send({ type: 'notice', level, message });
  }

  private markDirty(id: string): void {
    this.dirty.add(id);
    this.schedule();
  }

  private schedule(): void {
    if (this.timer || !this.clients.size) return;
    const wait = Math.max(0, this.lastFlush + this.flushMs - Date.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.flush();
    }, wait);
  }

  /** One push: changed run rows to everyone, new metrics lines to their subscribers. */
  private flush(): void {
    this.lastFlush = Date.now();
    const changed = new Map<string, RunSummary>();
    const removed: string[] = [];
    // Compared with what was last pushed, not with the index's previous entry: a request that refreshed the index
    // meanwhile (runs.list from another client or a script) must not swallow the change.
    if (this.fullRefresh) {
      this.fullRefresh = false;
      const { runs } = this.index.refresh();
      const ids = new Set<string>();
      for (const s of runs) {
        ids.add(s.id);
        if (this.pushed.get(s.id) !== s) changed.set(s.id, s);
      }
      for (const id of this.pushed.keys()) if (!ids.has(id)) removed.push(id);
    }
    for (const id of this.dirty) {
      const now = this.index.get(id);
      if (now && now !== this.pushed.get(id)) changed.set(id, now);
      else if (!now && this.pushed.has(id) && !removed.includes(id)) removed.push(id);
    }
    for (const s of changed.values()) this.pushed.set(s.id, s);
    for (const id of removed) this.pushed.delete(id);
    this.dirty.clear();
    this.syncRunWatchers();
    const rows = [...changed.values()];
    for (const client of this.clients) {
      if (rows.length || removed.length) client.send({ type: 'runs', changed: rows, removed });
      const chunks: MetricsChunk[] = [];
      for (const [id, from] of client.subscriptions) {
        const r = readMetricsFrom(join(this.index.dir(id), RUN_FILES.metrics), from);
        if (!r.records.length && !r.reset) continue;
        client.subscriptions.set(id, r.offset);
        chunks.push({ id, ...r });
      }
      if (chunks.length) client.send({ type: 'metrics', chunks });
    }
  }

  private isLive(s: RunSummary): boolean {
    return s.state !== null && !FINISHED_STATES.includes(s.state);
  }

  /** Watches runs/ for new and removed runs; while it does not exist yet, the poll calls this again. */
  private watchRoot(): void {
    try {
      this.rootWatcher = watch(runsRoot(this.workspace), () => {
        this.fullRefresh = true;
        this.schedule();
      });
      this.rootWatcher.on('error', () => undefined);
    } catch {
      /* runs/ does not exist yet */
    }
  }

  private startWatching(): void {
    if (this.poll) return;
    this.fullRefresh = true;
    this.schedule();
    this.watchRoot();
    // fs.watch can miss events (network folders, editors renaming): a slow poll of live runs backs it up, and a
    // full listing every 10 s catches runs created by other processes without a root event.
    let ticks = 0;
    this.poll = setInterval(() => {
      ticks++;
      if (!this.rootWatcher || ticks % 10 === 0) this.fullRefresh = true;
      if (!this.rootWatcher) {
        this.watchRoot();
      }
      for (const id of this.runWatchers.keys()) this.dirty.add(id);
      for (const c of this.clients) for (const id of c.subscriptions.keys()) this.dirty.add(id);
      this.schedule();
    }, 1000);
    this.poll.unref();
  }

  /** Watches the folders of live runs (running, queued, paused) and of subscribed runs. */
  private syncRunWatchers(): void {
    if (!this.poll) return;
    const want = new Set<string>();
    for (const s of this.index.cached()) if (this.isLive(s)) want.add(s.id);
    for (const c of this.clients) for (const id of c.subscriptions.keys()) want.add(id);
    for (const [id, w] of this.runWatchers) if (!want.has(id)) {
      w.close();
      this.runWatchers.delete(id);
    }
    for (const id of want) {
      if (this.runWatchers.has(id)) continue;
      try {
        const w = watch(this.index.dir(id), () => this.markDirty(id));
        w.on('error', () => undefined);
        this.runWatchers.set(id, w);
      } catch {
        /* vanished */
      }
    }
  }

  private stopWatching(): void {
    clearInterval(this.poll);
    this.poll = undefined;
    this.rootWatcher?.close();
    this.rootWatcher = undefined;
    for (const w of this.runWatchers.values()) w.close();
    this.runWatchers.clear();
  }

  /** Stops watching and the launcher's trainer (which checkpoints first). */
  async close(): Promise<void> {
    clearTimeout(this.timer);
    this.stopWatching();
    this.clients.clear();
    await Promise.all(this.areas.map((a) => a.close?.()));
    await this.launcher.close();
  }
}
