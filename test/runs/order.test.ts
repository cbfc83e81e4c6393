// The queue's order: reorder() is the list move; moveInQueue() writes priorities under the queue lock so that
// claimNext takes runs in the new order (one status.json written when there is room between the neighbours, the
// queue renumbered when there is not); runs that are not queued are refused. Then the whole path through the real
// CLI: `lmwb queue move` changes `queue list`, and a real `lmwb queue work` process trains the runs in that order.
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers';
import { createRun } from '../../src-main/runs/store';
import { moveInQueue, reorder } from '../../src-main/runs/order';
import { claimNext, queuedRuns, requestStop } from '../../src-main/runs/queue';
import { readStatus } from '../../src-main/runs/read';
import { updateStatus } from '../../src-main/runs/status';
import { lmwb, tinyConfig, tinyTokens, writeJson } from './helpers';

const tmp = tempDir('lmwb-order-');
afterAll(() => tmp.cleanup());

describe('reorder', () => {
  const ids = ['a', 'b', 'c', 'd'];
  it('moves to the top, the bottom, before and after another', () => {
    expect(reorder(ids, 'c', { to: 'top' })).toEqual(['c', 'a', 'b', 'd']);
    expect(reorder(ids, 'a', { to: 'bottom' })).toEqual(['b', 'c', 'd', 'a']);
    expect(reorder(ids, 'd', { to: 'before', ref: 'b' })).toEqual(['a', 'd', 'b', 'c']);
    expect(reorder(ids, 'a', { to: 'after', ref: 'c' })).toEqual(['b', 'c', 'a', 'd']);
    expect(reorder(ids, 'b', { to: 'after', ref: 'a' })).toEqual(ids);
  });
});

describe('moveInQueue', () => {
  let n = 0;
  const ws = () => join(tmp.path, `ws${++n}`);
  const make = (w: string, names: string[], priority?: (i: number) => number) =>
    names.map((name, i) => createRun(w, { config: { name }, now: new Date(Date.UTC(2026, 0, 1, 0, 0, i)), status: priority ? { priority: priority(i) } : {} }).id);
  const order = (w: string) => queuedRuns(w).map((r) => r.id);

  it('changes the order claimNext takes runs in, writing only the moved run when there is room', async () => {
    const w = ws();
    const [a, b, c] = make(w, ['a', 'b', 'c']);
    expect(order(w)).toEqual([a, b, c]);
    const before = [a, b].map((id) => readStatus(join(w, 'runs', id))!.updated);
    expect(await moveInQueue(w, c, { to: 'top' })).toEqual([c, a, b]);
    expect(order(w)).toEqual([c, a, b]);
    expect([a, b].map((id) => readStatus(join(w, 'runs', id))!.updated)).toEqual(before); // untouched
    expect(await moveInQueue(w, a, { to: 'after', ref: b })).toEqual([c, b, a]);
    expect(await moveInQueue(w, a, { to: 'before', ref: c })).toEqual([a, c, b]);
    const worker = { pid: process.pid, host: (await import('node:os')).hostname(), worker: 'test' };
    expect((await claimNext(w, worker))?.id).toBe(a);
    expect((await claimNext(w, worker))?.id).toBe(c);
    expect((await claimNext(w, worker))?.id).toBe(b);
  });

  it('renumbers when the neighbours leave no room (equal priorities: the order was by id)', async () => {
    const w = ws();
    const [a, b, c, d] = make(w, ['a', 'b', 'c', 'd'], () => 5);
    expect(order(w)).toEqual([a, b, c, d]);
    expect(await moveInQueue(w, d, { to: 'after', ref: a })).toEqual([a, d, b, c]);
    expect(order(w)).toEqual([a, d, b, c]);
    expect([a, d, b, c].map((id) => readStatus(join(w, 'runs', id))!.priority)).toEqual([5, 6, 7, 8]);
    // float resolution used up between two neighbours: still exact
    updateStatus(join(w, 'runs', a), { priority: 1e16 });
    updateStatus(join(w, 'runs', d), { priority: 1e16 + 2 });
    updateStatus(join(w, 'runs', b), { priority: 1e16 + 4 });
    updateStatus(join(w, 'runs', c), { priority: 1e16 + 6 });
    for (let i = 0; i < 3; i++) await moveInQueue(w, c, { to: 'after', ref: a });
    expect(order(w)).toEqual([a, c, d, b]);
  });

  it('refuses runs that are not queued, and a reference that is not queued', async () => {
    const w = ws();
    const [a, b] = make(w, ['a', 'b']);
    await requestStop(w, b, 'pause');
    await expect(moveInQueue(w, b, { to: 'top' })).rejects.toMatchObject({ code: 'QUEUE_CONFLICT', message: expect.stringContaining('paused') });
    await expect(moveInQueue(w, a, { to: 'before', ref: b })).rejects.toMatchObject({ code: 'QUEUE_CONFLICT' });
    await expect(moveInQueue(w, 'nope', { to: 'top' })).rejects.toMatchObject({ code: 'RUN_NOT_FOUND' });
  });
});

describe('lmwb queue move + a real worker', () => {
  it('the worker trains the runs in the order the CLI set', async () => {
    const w = join(tmp.path, 'cli');
    const tokens = tinyTokens(tmp.path);
    const add = (name: string) => {
      const r = lmwb(['queue', 'add', '--workspace', w, '--config', writeJson(join(tmp.path, `${name}.json`), tinyConfig(tokens, { steps: 4, name }))], tmp.path);
      expect(r.code, r.err).toBe(0);
      return r.out.trim();
    };
    const [a, b, c] = ['first', 'second', 'third'].map(add);
    const mv = (args: string[]) => {
      const r = lmwb(['queue', 'move', '--workspace', w, ...args], tmp.path);
      expect(r.code, r.err).toBe(0);
      return r.out;
    };
    mv([c, '--top']); // c a b
    expect(mv([a, '--after', b])).toBe(`1. ${c}\n2. ${b}\n3. ${a}\n`); // c b a
    const list = JSON.parse(lmwb(['queue', 'list', '--workspace', w, '--json'], tmp.path).out) as Array<{ id: string }>;
    expect(list.map((r) => r.id)).toEqual([c, b, a]);
    const bad = lmwb(['queue', 'move', '--workspace', w, a, '--top', '--bottom'], tmp.path);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/exactly one of --top/);

    const work = lmwb(['queue', 'work', '--workspace', w, '--until-empty', '--poll', '100'], tmp.path, 240_000);
    expect(work.code, work.err).toBe(0);
    const starts = [a, b, c].map((id) => ({ id, started: readStatus(join(w, 'runs', id))!.started! }));
    expect(starts.map((s) => readStatus(join(w, 'runs', s.id))!.state)).toEqual(['done', 'done', 'done']);
    expect([...starts].sort((x, y) => x.started.localeCompare(y.started)).map((s) => s.id)).toEqual([c, b, a]);
    // and the worker's own log says so
    const taken = [...work.out.matchAll(/^\[([^\]]+)\] taken by/gm)].map((m) => m[1]);
    expect(taken).toEqual([c, b, a]);
  }, 300_000);
});
