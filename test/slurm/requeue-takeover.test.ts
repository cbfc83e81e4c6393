// A Slurm job killed hard (its node died) and requeued leaves its run `running` with a claim by a worker on another
// node, which no worker may steal (we cannot tell whether a process on another machine lives). The requeued job's
// worker (`queue work --only ID --backend-ref slurm:JOB`) knows better: Slurm runs one instance of a job at a time,
// so a claim by the same job is dead. It takes the run back, records the restart and resumes it; a worker for
// another job does not. Real CLI processes and a real trainer; no Slurm needed (the claim is what a dead node left).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers';
import { readMetrics, readStatus } from '../../src-main/runs/read';
import { updateStatus } from '../../src-main/runs/status';
import { STORE_FILES } from '../../src-main/runs/store';
import { lmwb, tinyConfig, tinyTokens, writeJson } from '../runs/helpers';

const tmp = tempDir('lmwb-takeover-');
afterAll(() => tmp.cleanup());

describe('a requeued Slurm job takes back its run from the claim its dead node left', () => {
  it('resumes it under the same job, leaves it alone under another', () => {
    const ws = tmp.path;
    const tokens = tinyTokens(ws);
    const add = lmwb(['queue', 'add', '--config', writeJson(join(ws, 'c.json'), tinyConfig(tokens, { steps: 40, name: 'orphan' }))], ws);
    expect(add.code, add.err).toBe(0);
    const id = add.out.trim();
    const dir = join(ws, 'runs', id);
    // What a job on node-7 left when the node died: running, claimed by its worker there.
    updateStatus(dir, { state: 'running', backend: 'slurm:77', host: 'node-7', pid: 4242, attempts: 1 });
    writeFileSync(join(dir, STORE_FILES.claim), `${JSON.stringify({ pid: 4242, host: 'node-7', worker: '4242@node-7/slurm:77', time: new Date().toISOString() })}\n`);

    const other = lmwb(['queue', 'work', '--only', id, '--until-empty', '--backend-ref', 'slurm:770'], ws);
    expect(other.code, other.err).toBe(0);
    expect(other.err).toContain('worker done: 0 runs');
    expect(readStatus(dir)!.state).toBe('running');
    const local = lmwb(['queue', 'work', '--until-empty'], ws);
    expect(local.err).toContain('worker done: 0 runs');

    const same = lmwb(['queue', 'work', '--only', id, '--until-empty', '--backend-ref', 'slurm:77'], ws, 240_000);
    expect(same.code, same.err + same.out).toBe(0);
    const s = readStatus(dir)!;
    expect(s.state).toBe('done');
    expect(s.backend).toBe('slurm:77');
    expect(s.restarts).toHaveLength(1);
    expect(s.restarts[0].reason).toBe('its Slurm job 77 was requeued');
    expect(readMetrics(dir).records.filter((r) => r.kind === 'train').map((r) => r.step).at(-1)).toBe(40);
  }, 300_000);
});
