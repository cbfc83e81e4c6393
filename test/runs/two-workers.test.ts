// Two real `lmwb queue work` processes on one workspace: every queued run is trained exactly once (one attempt,
// one trainer start in its log), all end done, and both workers report only runs they took.
import { afterAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers';
import { readStatus } from '../../src-main/runs/read';
import { lmwb, lmwbBackground, tinyConfig, tinyTokens, writeJson } from './helpers';

const tmp = tempDir('lmwb-two-workers-');
afterAll(() => tmp.cleanup());

describe('two workers, one queue', () => {
  it('never train the same run twice', async () => {
    const ws = tmp.path;
    const tokens = tinyTokens(ws);
    const ids = ['a', 'b', 'c'].map((name) => {
      const cfg = writeJson(join(ws, `${name}.json`), tinyConfig(tokens, { steps: 20, name, checkpointEvery: 0 }));
      return lmwb(['queue', 'add', '--config', cfg], ws).out.trim();
    });
    const w1 = lmwbBackground(['queue', 'work', '--until-empty'], ws);
    const w2 = lmwbBackground(['queue', 'work', '--until-empty'], ws);
    const [r1, r2] = await Promise.all([w1.done, w2.done]);
    expect(r1.code, r1.err).toBe(0);
    expect(r2.code, r2.err).toBe(0);
    const taken = (out: string) => [...out.matchAll(/^\[(\S+)\] taken by/gm)].map((m) => m[1]);
    const t1 = taken(r1.out);
    const t2 = taken(r2.out);
    expect(t1.filter((id) => t2.includes(id))).toEqual([]);
    expect([...t1, ...t2].sort()).toEqual([...ids].sort());
    for (const id of ids) {
      const s = readStatus(join(ws, 'runs', id))!;
      expect(s).toMatchObject({ state: 'done', attempts: 1, restarts: [] });
      const log = readFileSync(join(ws, 'runs', id, 'trainer.log'), 'utf8');
      expect(log.match(/trainer pid \d+ started/g)).toHaveLength(1);
    }
  }, 300_000);
});
