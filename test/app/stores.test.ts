/// <reference lib="dom" />
// The renderer's Pinia stores against a real backend (in process, the way the Electron main process serves IPC:
// every message through JSON), over run folders written here: the Runs table's filter, sort and selection; the
// metrics store's exact live appends (a gap refetches, a duplicate is ignored); routes; smoothing settings.
import { appendFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createPinia, setActivePinia } from 'pinia';
import { Backend } from '../../src-main/server/backend';
import type { ApiEvent } from '../../src-main/api/contract';
import { ApiClient, setApi, type Transport } from '../../src-renderer/src/api/client';
import { matchesFilter, useRunsStore } from '../../src-renderer/src/stores/runs';
import { useMetricsStore } from '../../src-renderer/src/stores/metrics';
import { parseRoute, routeHash, type Route } from '../../src-renderer/src/stores/ui';
import { DEFAULT_SETTINGS, smoothingOf } from '../../src-renderer/src/stores/compare';

const ws = mkdtempSync(join(tmpdir(), 'lmwb-stores-'));
let backend: Backend;
const events: ApiEvent[] = [];

function line(step: number): string {
  return `${JSON.stringify({ kind: 'train', step, tokens: step * 100, elapsed_s: step, time: 't', loss: 1 / step, lr: 1e-3, grad_norm: 1, tokens_per_s: 100 })}\n`;
}
function makeRun(id: string, o: { lr: number; bs: number; state: string; tags?: string[]; best?: number; sweep?: string; steps?: number }): void {
  const dir = join(ws, 'runs', id);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ name: id, training: { max_learning_rate: o.lr, batch_size: o.bs } }));
  writeFileSync(join(dir, 'meta.json'), JSON.stringify({ name: id, tags: o.tags ?? [], notes: '', ...(o.sweep ? { sweep: { name: o.sweep, keys: { 'training.max_learning_rate': o.lr } } } : {}) }));
  writeFileSync(join(dir, 'status.json'), JSON.stringify({ state: o.state, attempts: 1, restarts: [], created: `2026-01-0${id.length % 9}T00:00:00Z`, updated: 'x', ...(o.best !== undefined ? { best_val_loss: o.best, tokens_per_s: 1 } : {}) }));
  writeFileSync(join(dir, 'metrics.jsonl'), Array.from({ length: o.steps ?? 0 }, (_, i) => line(i + 1)).join(''));
}

/** The IPC bridge's behaviour in process: requests and events cross as JSON. */
function inProcess(b: Backend): Transport {
  const listeners = new Set<(e: ApiEvent) => void>();
  const conn = b.connect((e) => {
    events.push(e);
    for (const l of listeners) l(JSON.parse(JSON.stringify(e)) as ApiEvent);
  });
  return {
    kind: 'ipc',
    send: async (req) => JSON.parse(JSON.stringify(await b.call(JSON.parse(JSON.stringify(req))))),
    subscribe: (runs) => void b.subscribe(conn.client, { runs }),
    onEvent: (l) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    save: async () => null,
  };
}

beforeAll(() => {
  makeRun('a', { lr: 1e-3, bs: 8, state: 'done', tags: ['best'], best: 1.5, sweep: 'lr-coarse', steps: 10 });
  makeRun('bb', { lr: 3e-3, bs: 64, state: 'running', best: 1.4, sweep: 'lr-coarse', steps: 5 });
  makeRun('ccc', { lr: 1e-2, bs: 32, state: 'diverged' });
  makeRun('dddd', { lr: 3e-4, bs: 128, state: 'failed', best: 2.1 });
  backend = new Backend({ workspace: ws, host: 'electron' });
});
afterAll(async () => {
  await backend.close();
  rmSync(ws, { recursive: true, force: true });
});
beforeEach(() => {
  setActivePinia(createPinia());
  setApi(new ApiClient(inProcess(backend)));
});

describe('runs store', () => {
  it('loads every run; filters by text, field and comparison; sorts with missing values last', async () => {
    const s = useRunsStore();
    await s.load();
    expect(s.rows.map((r) => r.id).sort()).toEqual(['a', 'bb', 'ccc', 'dddd']);
    const ids = () => s.visible.map((r) => r.id);
    s.filter = 'state:running';
    expect(ids()).toEqual(['bb']);
    s.filter = 'tag:best';
    expect(ids()).toEqual(['a']);
    s.filter = 'training.batch_size>=32 sweep:lr';
    expect(ids()).toEqual(['bb']);
    s.filter = 'training.max_learning_rate<0.002';
    expect(ids().sort()).toEqual(['a', 'dddd']);
    s.filter = 'dd';
    expect(ids()).toEqual(['dddd']);
    s.filter = '';
    s.sortKey = 'created'; // a neutral key, then sort by best val loss ascending
    s.setSort('bestValLoss');
    expect(s.sortDesc).toBe(false);
    expect(ids()).toEqual(['bb', 'a', 'dddd', 'ccc']);
    s.setSort('bestValLoss');
    expect(ids()).toEqual(['dddd', 'a', 'bb', 'ccc']);
    s.setSort('config:training.batch_size');
    expect(ids()).toEqual(['a', 'ccc', 'bb', 'dddd']);
  });

  it('selects like a file manager: click, ctrl-click toggles, shift-click takes the range', async () => {
    const s = useRunsStore();
    await s.load();
    s.setSort('name');
    s.sortDesc = false;
    s.click('a');
    s.click('ccc', { shift: true });
    expect([...s.selected].sort()).toEqual(['a', 'bb', 'ccc']);
    s.click('bb', { ctrl: true });
    expect([...s.selected].sort()).toEqual(['a', 'ccc']);
    s.click('dddd');
    expect([...s.selected]).toEqual(['dddd']);
    s.filter = 'lr-coarse';
    s.selectAllVisible();
    expect([...s.selected].sort()).toEqual(['a', 'bb']);
  });

  it('applies live row changes and removals', async () => {
    const s = useRunsStore();
    await s.load();
    const bb = s.get('bb')!;
    s.applyEvent({ type: 'runs', changed: [{ ...bb, state: 'done' }, { ...bb, id: 'new', name: 'new' }], removed: ['ccc'] });
    expect(s.get('bb')?.state).toBe('done');
    expect(s.get('new')?.name).toBe('new');
    expect(s.get('ccc')).toBeUndefined();
    expect(s.visible.map((r) => r.id).sort()).toEqual(['a', 'bb', 'dddd', 'new']);
  });

  it('matches filters on unknown state and missing config', () => {
    const r = { id: 'x', name: 'x', state: null, sweep: null, group: null, sweepKeys: {}, tags: [], config: {} } as unknown as Parameters<typeof matchesFilter>[0];
    expect(matchesFilter(r, 'state:unknown')).toBe(true);
    expect(matchesFilter(r, 'training.batch_size>1')).toBe(false);
  });
});

describe('metrics store', () => {
  it('fetches a run, then follows it live exactly (every line once, in order)', async () => {
    const m = useMetricsStore();
    const off = new ApiClient(inProcess(backend));
    setApi(off);
    off.onEvent((e) => {
      if (e.type === 'metrics') m.applyChunks(e.chunks);
    });
    await m.want('view', ['bb']);
    expect(m.get('bb')?.records.map((r) => r.step)).toEqual([1, 2, 3, 4, 5]);
    const file = join(ws, 'runs', 'bb', 'metrics.jsonl');
    for (let s = 6; s <= 40; s++) appendFileSync(file, line(s));
    await expect.poll(() => m.get('bb')?.records.length, { timeout: 5000 }).toBe(40);
    expect(m.get('bb')!.records.map((r) => r.step)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
  });

  it('ignores a chunk it already has and refetches after a gap', async () => {
    const m = useMetricsStore();
    await m.want('view', ['a']);
    const held = m.get('a')!;
    expect(held.records).toHaveLength(10);
    expect(m.applyChunks([{ id: 'a', from: 0, offset: held.offset, records: held.records.slice(0, 3), reset: false }])).toEqual([]);
    expect(m.get('a')!.records).toHaveLength(10);
    // A chunk from beyond our offset means we missed lines: the store fetches the run again (the truth: 10 lines).
    m.applyChunks([{ id: 'a', from: held.offset + 100, offset: held.offset + 200, records: [], reset: false }]);
    await expect.poll(() => m.get('a') !== held, { timeout: 5000 }).toBe(true);
    expect(m.get('a')!.records.map((r) => r.step)).toEqual(Array.from({ length: 10 }, (_, i) => i + 1));
    // A reset (file rewritten) replaces what we had.
    m.applyChunks([{ id: 'a', from: 0, offset: 5, records: [], reset: true }]);
    expect(m.get('a')!.records).toEqual([]);
    m.release('view');
    expect(m.get('a')).toBeUndefined();
  });
});

describe('ui and compare stores', () => {
  it('round-trips routes through the URL hash', () => {
    for (const r of [{ view: 'runs' }, { view: 'run', id: 'lr=3e-3' }, { view: 'compare', ids: ['a', 'b+c'] }] satisfies Route[]) {
      expect(parseRoute(routeHash(r))).toEqual(r);
    }
    expect(parseRoute('#/nonsense')).toEqual({ view: 'runs' });
  });

  it('turns settings into the charts module smoothing', () => {
    expect(smoothingOf(DEFAULT_SETTINGS)).toEqual({ kind: 'ema', weight: 0.6 });
    expect(smoothingOf({ ...DEFAULT_SETTINGS, smoothing: 'moving-average', window: 5 })).toEqual({ kind: 'moving-average', window: 5 });
    expect(smoothingOf({ ...DEFAULT_SETTINGS, smoothing: 'none' })).toEqual({ kind: 'none' });
  });
});
