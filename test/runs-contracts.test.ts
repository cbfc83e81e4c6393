// The run-store contracts on their own: tolerant JSONL reading (torn tail, bad lines), status updates under a lock,
// and the config diff's flattening and "only what differs" rule.
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readMetrics, readStatus } from '../src-main/runs/read';
import { updateStatus } from '../src-main/runs/status';
import { diffConfigs, flattenConfig } from '../src-main/runs/diff';

const dir = mkdtempSync(join(tmpdir(), 'lmwb-contracts-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('run store contracts', () => {
  it('reads metrics.jsonl, ignoring a torn last line and skipping invalid lines; null reads as NaN', () => {
    const ok = { kind: 'train', step: 10, tokens: 100, elapsed_s: 1, time: 't', loss: null, lr: 1e-3, grad_norm: 0.5, tokens_per_s: 10 };
    writeFileSync(join(dir, 'metrics.jsonl'), `${JSON.stringify(ok)}\n{"kind":"train","step":-1}\nnot json\n{"kind":"eval","step":2`);
    const r = readMetrics(dir);
    expect(r.records).toHaveLength(1);
    expect(r.records[0].kind === 'train' && Number.isNaN(r.records[0].loss)).toBe(true);
    expect(r.skipped).toBe(2);
    expect(r.tornTail).toBe(true);
    expect(r.completeBytes).toBe(Buffer.byteLength(`${JSON.stringify(ok)}\n{"kind":"train","step":-1}\nnot json\n`));
  });

  it('updates status.json with patches and functions of the current status', () => {
    updateStatus(dir, { state: 'running', pid: 123 });
    const s = updateStatus(dir, (cur) => ({ attempts: cur.attempts + 1 }));
    expect(s.state).toBe('running');
    expect(s.attempts).toBe(1);
    expect(readStatus(dir)?.pid).toBe(123);
  });

  it('diffs configs on flattened keys, the first run as baseline', () => {
    expect(flattenConfig({ a: { b: 1, c: [1, 2] }, d: 'x' })).toEqual({ 'a.b': 1, 'a.c': [1, 2], d: 'x' });
    const d = diffConfigs([{ t: { lr: 1, bs: 8 }, name: 'a' }, { t: { lr: 2, bs: 8 }, name: 'b' }, { t: { lr: 1, bs: 8, extra: true }, name: 'c' }], ['name']);
    expect(d.keys).toEqual(['t.extra', 't.lr']);
    expect(d.values[1]).toEqual({ 't.extra': undefined, 't.lr': 2 });
  });
});
