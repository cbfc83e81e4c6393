/// <reference lib="dom" />
// The queue panel's API and store against a real backend (in process, every message through JSON) over run folders
// made by the run store: queue.list gives queued runs in the order claimNext takes them, then running, paused and
// the most recently finished, with the figures ETA needs, restarts from status.json and what a retry resumes from;
// queue.move changes that order (and claimNext follows it); pause / cancel / resume / retry change states and refuse
// the wrong ones; the store merges live `runs` rows (progress moves) and re-reads the list on a state change; the
// ETA is remaining tokens / tokens per second.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createPinia, setActivePinia } from 'pinia';
import { Backend } from '../../src-main/server/backend';
import type { ApiEvent } from '../../src-main/api/contract';
import type { QueueList } from '../../src-main/api/areas/queue';
import { createRun } from '../../src-main/runs/store';
import { claimNext } from '../../src-main/runs/queue';
import { moveInQueue } from '../../src-main/runs/order';
import { readStatus } from '../../src-main/runs/read';
import { updateStatus } from '../../src-main/runs/status';
import { ApiClient, setApi, type Transport } from '../../src-renderer/src/api/client';
import { useQueueStore } from '../../src-renderer/src/stores/queue';
import { useRunsStore } from '../../src-renderer/src/stores/runs';
import { etaSeconds, fmtEta, progressOf } from '../../src-renderer/src/lib/queue-eta';

const ws = mkdtempSync(join(tmpdir(), 'lmwb-queue-app-'));
let backend: Backend;
const ids: Record<string, string> = {};
const listeners = new Set<(e: ApiEvent) => void>();

function inProcess(b: Backend): Transport {
  const conn = b.connect((e) => {
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

const cfg = (name: string, extra: Record<string, unknown> = {}) => ({
  name, model: { context_length: 64 }, training: { batch_size: 8, max_steps: 200, ...extra },
});
const dir = (k: string) => join(ws, 'runs', ids[k]);
const call = async <T>(method: string, params: unknown = {}): Promise<T> => {
  const r = await backend.call({ method, params });
  if (!r.ok) throw Object.assign(new Error(r.error.message), { code: r.error.code });
  return r.result as T;
};

beforeAll(() => {
  const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s));
  ids.q1 = createRun(ws, { config: cfg('q1'), now: at(1) }).id;
  ids.q2 = createRun(ws, { config: cfg('q2', { max_steps: undefined, total_tokens: 5120 }), now: at(2) }).id;
  ids.q3 = createRun(ws, { config: cfg('q3'), now: at(3) }).id;
  ids.run = createRun(ws, { config: cfg('run', { time_budget_s: 100 }), now: at(0), status: { state: 'running', step: 50, total_steps: 200, tokens_per_s: 1024, elapsed_s: 90, backend: 'local', gpu: 'llvmpipe', pid: 999_999_999 } }).id;
  ids.paused = createRun(ws, { config: cfg('paused'), now: at(4), status: { state: 'paused', step: 20, total_steps: 200 } }).id;
  ids.failed = createRun(ws, {
    config: cfg('failed'), now: at(5),
    status: { state: 'failed', ended: '2026-01-02T00:00:00Z', updated: '2026-01-02T00:00:00Z', error: { code: 'WORKER_DIED', message: 'the trainer died 4 times' },
      restarts: [{ time: '2026-01-01T10:00:00Z', from_step: 100, reason: 'signal SIGKILL' }, { time: '2026-01-01T11:00:00Z', from_step: 100, reason: 'exit code 134' }] },
  }).id;
  ids.done = createRun(ws, { config: cfg('done'), now: at(6), status: { state: 'done', ended: '2026-01-03T00:00:00Z', updated: '2026-01-03T00:00:00Z' } }).id;
  ids.cancelled = createRun(ws, { config: cfg('cancelled'), now: at(7), status: { state: 'cancelled', ended: '2026-01-01T00:00:00Z', updated: '2026-01-01T00:00:00Z' } }).id;
  mkdirSync(join(dir('failed'), 'checkpoints'), { recursive: true });
  writeFileSync(join(dir('failed'), 'checkpoints', 'step_0000100.safetensors'), 'x');
  writeFileSync(join(dir('failed'), 'checkpoints', 'step_0000050.safetensors'), 'x');
  backend = new Backend({ workspace: ws, host: 'serve' });
});
afterAll(async () => {
  await backend.close();
  rmSync(ws, { recursive: true, force: true });
});
beforeEach(() => {
  setActivePinia(createPinia());
  setApi(new ApiClient(inProcess(backend)));
});

describe('queue.list', () => {
  it('queued in worker order, then running, paused and the most recently finished, with what ETA and retry need', async () => {
    const l = await call<QueueList>('queue.list');
    const k = (id: string) => Object.keys(ids).find((x) => ids[x] === id);
    expect(l.rows.map((r) => k(r.id))).toEqual(['q1', 'q2', 'q3', 'run', 'paused', 'done', 'failed', 'cancelled']);
    expect(l.rows.map((r) => r.position)).toEqual([1, 2, 3, null, null, null, null, null]);
    const by = (x: string) => l.rows.find((r) => r.id === ids[x])!;
    expect(by('run')).toMatchObject({ step: 50, totalSteps: 200, tokensPerS: 1024, tokensPerStep: 512, timeBudgetS: 100, elapsedS: 90, where: 'local', gpu: 'llvmpipe' });
    expect(by('q1').totalSteps).toBe(200); // from the config before the trainer has said
    expect(by('q2').totalSteps).toBe(10); // total_tokens / (batch · context) = 5120 / 512
    expect(by('failed')).toMatchObject({
      resumeStep: 100,
      restarts: [{ time: '2026-01-01T10:00:00Z', fromStep: 100, reason: 'signal SIGKILL' }, { time: '2026-01-01T11:00:00Z', fromStep: 100, reason: 'exit code 134' }],
      error: { code: 'WORKER_DIED', message: 'the trainer died 4 times' },
    });
    expect(by('cancelled').resumeStep).toBeNull();
    expect((await call<QueueList>('queue.list', { finished: 1 })).rows.map((r) => k(r.id))).toEqual(['q1', 'q2', 'q3', 'run', 'paused', 'done']);
  });
});

describe('queue.move and the actions', () => {
  it('reorders what claimNext takes, and refuses what is not queued', async () => {
    expect((await call<{ order: string[] }>('queue.move', { id: ids.q3, to: 'top' })).order).toEqual([ids.q3, ids.q1, ids.q2]);
    expect((await call<{ order: string[] }>('queue.move', { id: ids.q1, to: 'after', ref: ids.q2 })).order).toEqual([ids.q3, ids.q2, ids.q1]);
    const l = await call<QueueList>('queue.list');
    expect(l.rows.filter((r) => r.state === 'queued').map((r) => r.id)).toEqual([ids.q3, ids.q2, ids.q1]);
    await expect(call('queue.move', { id: ids.paused, to: 'top' })).rejects.toMatchObject({ code: 'QUEUE_CONFLICT' });
    await expect(call('queue.move', { id: ids.q1, to: 'before' })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('ref') });
    await expect(call('queue.move', { id: '../x', to: 'top' })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    // the worker's own claim follows the new order (a scratch workspace copy would not prove it: this is the same one)
    const claimed = await claimNext(ws, { pid: process.pid, host: hostname(), worker: 'test' }, (r) => r.id !== ids.run);
    expect(claimed?.id).toBe(ids.q3);
    updateStatus(dir('q3'), { state: 'queued' });
    rmSync(join(dir('q3'), '.claim.json'), { force: true });
  });

  it('pauses and cancels queued runs at once; resume and retry refuse the wrong states', async () => {
    expect(await call('queue.pause', { id: ids.q2 })).toEqual({ id: ids.q2, state: 'paused', requested: false });
    expect(readStatus(dir('q2'))!.state).toBe('paused');
    expect(await call('queue.cancel', { id: ids.q1 })).toEqual({ id: ids.q1, state: 'cancelled', requested: false });
    await expect(call('queue.cancel', { id: ids.done })).rejects.toMatchObject({ code: 'QUEUE_CONFLICT' });
    await expect(call('queue.resume', { id: ids.failed })).rejects.toMatchObject({ code: 'QUEUE_CONFLICT', message: expect.stringContaining('retry') });
    await expect(call('queue.retry', { id: ids.paused })).rejects.toMatchObject({ code: 'QUEUE_CONFLICT' });
  });
});

describe('queue store', () => {
  it('merges live runs rows (progress and ETA move) and re-reads the list when a state changes', async () => {
    const runs = useRunsStore();
    const q = useQueueStore();
    await runs.load();
    await q.load();
    const row = () => q.rows.find((r) => r.id === ids.run)!;
    expect(row().step).toBe(50);
    const before = etaSeconds(row());
    // the trainer logs further: a `runs` event carries the new step
    const live = runs.get(ids.run)!;
    expect(before).toBe(10); // min(150 · 512 / 1024 s of tokens, 100 − 90 s of budget)
    runs.applyEvent({ type: 'runs', changed: [{ ...live, step: 190, tokensPerS: 2048, elapsedS: 91 }], removed: [] });
    expect(row()).toMatchObject({ step: 190, tokensPerS: 2048, elapsedS: 91 });
    expect(etaSeconds(row())).toBeCloseTo((10 * 512) / 2048, 9); // 2.5 s of tokens left, under the 9 s of budget
    // q3 is paused elsewhere (the CLI): the runs event shows a new state, the store re-reads the list
    updateStatus(dir('q3'), { state: 'paused' });
    await runs.load();
    q.noticeRuns(runs.rows);
    await new Promise((r) => setTimeout(r, 400));
    expect(q.rows.find((r) => r.id === ids.q3)!.state).toBe('paused');
    expect(q.queued.map((r) => r.id)).toEqual([]);
  });
});

describe('queue store and a move from elsewhere', () => {
  it('re-reads the order when a queued run is moved by another client (`lmwb queue move`)', async () => {
    const x1 = createRun(ws, { config: cfg('x1'), now: new Date(Date.UTC(2026, 0, 2)) }).id;
    const x2 = createRun(ws, { config: cfg('x2'), now: new Date(Date.UTC(2026, 0, 3)) }).id;
    const runs = useRunsStore();
    const q = useQueueStore();
    await runs.load();
    await q.load();
    expect(q.queued.map((r) => r.id)).toEqual([x1, x2]);
    await moveInQueue(ws, x2, { to: 'top' }); // what the CLI does: only x2's status.json (its priority) changes
    await runs.load(); // the `runs` event of that status write
    q.noticeRuns(runs.rows);
    await new Promise((r) => setTimeout(r, 400));
    expect(q.queued.map((r) => r.id)).toEqual([x2, x1]);
    await call('queue.cancel', { id: x1 });
    await call('queue.cancel', { id: x2 });
  });
});

describe('ETA', () => {
  it('is remaining tokens over tokens per second, capped by a time budget; "—" before the first measurement', () => {
    expect(etaSeconds({ step: 50, totalSteps: 200, tokensPerS: 1024, tokensPerStep: 512 })).toBe(75);
    expect(etaSeconds({ step: 50, totalSteps: 200, tokensPerS: 1024, tokensPerStep: 512, elapsedS: 90, timeBudgetS: 100 })).toBe(10);
    expect(etaSeconds({ step: null, totalSteps: 200, tokensPerS: null, tokensPerStep: 512 })).toBeNull();
    expect(fmtEta(null)).toBe('—');
    expect(fmtEta(75)).toBe('1m 15s');
    expect(fmtEta(3 * 3600 + 65)).toBe('3h 01m');
    expect(progressOf({ step: 50, totalSteps: 200 })).toBe(0.25);
    expect(progressOf({ step: 5, totalSteps: null })).toBeNull();
  });
});

describe('resume and retry', () => {
  it('resume puts a paused run back in its place; retry says where it resumes from', async () => {
    // The launcher starts a real `lmwb queue work` for these; their configs are not trainable (bad config:
    // the worker fails them at once), which is fine here: only the answers and status.json are checked.
    expect(await call('queue.resume', { id: ids.q2 })).toEqual({ id: ids.q2, state: 'queued', requested: false });
    expect(readStatus(dir('q2'))!.state).not.toBe('paused');
    expect(await call('queue.retry', { id: ids.failed })).toEqual({ id: ids.failed, state: 'queued', requested: false, fromStep: 100 });
    expect(await call('queue.retry', { id: ids.cancelled })).toEqual({ id: ids.cancelled, state: 'queued', requested: false, fromStep: null });
    expect(readStatus(dir('failed'))!.error).toBeUndefined();
  }, 60_000);
});
