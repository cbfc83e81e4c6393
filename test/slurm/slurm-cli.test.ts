// The Slurm wrappers against a real one-node cluster on loopback (munged + slurmctld + slurmd started by the test):
// a job submitted from a generated script runs and completes, a pending job is cancelled, and a job that asks for
// its own requeue (as our script does before a time limit) runs again.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobStates, sbatch, scancel } from '../../src-main/runs/slurm/slurm-cli';
import { renderSbatchScript, slurmTime } from '../../src-main/runs/slurm/script';
import { slurmUnavailable, startSlurmCluster, type SlurmCluster } from '../helpers/slurm-cluster';

const why = slurmUnavailable();
if (why && process.env.CI === 'true') throw new Error(`CI needs Slurm for these tests: ${why}`);

async function releaseBeginTime(id: string, env: NodeJS.ProcessEnv): Promise<void> {
  spawnSync('scontrol', ['update', `JobId=${id}`, 'StartTime=now'], { env });
}

async function waitFor<T>(fn: () => Promise<T | undefined>, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe.skipIf(!!why)('Slurm command-line wrappers on a real cluster', () => {
  let c: SlurmCluster;
  const work = mkdtempSync(join(tmpdir(), 'lmwb-slurm-jobs-'));
  beforeAll(async () => {
    c = await startSlurmCluster();
  }, 60_000);
  afterAll(() => c?.stop());

  it('formats time limits for --time', () => {
    expect(slurmTime(90 * 60)).toBe('01:30:00');
    expect(slurmTime(59)).toBe('00:01:00');
    expect(slurmTime(2 * 86400 + 3600)).toBe('2-01:00:00');
  });

  it('submits a job that runs to completion, and cancels another', async () => {
    const o = { env: c.env };
    const id = await sbatch(`#!/bin/bash\n#SBATCH --output=${work}/a-%j.out\necho ran $SLURM_JOB_ID\n`, o);
    const done = await waitFor(async () => {
      const s = (await jobStates([id], o)).get(id);
      return s && s.state === 'COMPLETED' ? s : undefined;
    });
    expect(done.exitCode).toBe('0:0');
    expect(readFileSync(join(work, `a-${id}.out`), 'utf8')).toContain(`ran ${id}`);
    const long = await sbatch(`#!/bin/bash\n#SBATCH --output=/dev/null\nsleep 60\n`, o);
    await scancel(long, o);
    const st = await waitFor(async () => {
      const s = (await jobStates([long], o)).get(long);
      return s && s.state === 'CANCELLED' ? s : undefined;
    });
    expect(st.state).toBe('CANCELLED');
  }, 60_000);

  it('requeues a job that asks for it (the pre-emption/time-limit path) and runs it again', async () => {
    const o = { env: c.env };
    const marker = join(work, 'requeued');
    const id = await sbatch(`#!/bin/bash\n#SBATCH --requeue\n#SBATCH --open-mode=append\n#SBATCH --output=${work}/r-%j.out\nif [ ! -e ${marker} ]; then touch ${marker}; echo first; scontrol requeue $SLURM_JOB_ID; sleep 30; else echo second; fi\n`, o);
    await waitFor(async () => {
      const s = (await jobStates([id], o)).get(id);
      // Slurm holds a requeued job for a while (reason BeginTime); let it start now to keep the test short.
      if (s?.state === 'PENDING' && s.reason === 'BeginTime') await releaseBeginTime(id, o.env);
      return s && s.state === 'COMPLETED' && existsSync(join(work, `r-${id}.out`)) && readFileSync(join(work, `r-${id}.out`), 'utf8').includes('second') ? s : undefined;
    }, 90_000);
    const out = readFileSync(join(work, `r-${id}.out`), 'utf8');
    expect(out).toContain('first');
    expect(out).toContain('second');
  }, 120_000);

  it('renders a job array for a sweep with the checkpoint-and-requeue trap', () => {
    const s = renderSbatchScript({ runIds: ['a', 'b'], workspace: '/ws', lmwb: ['node', '/x/lmwb.mjs'], jobName: 'sweep', timeLimitS: 5400, gres: 'gpu:1' });
    expect(s).toContain('#SBATCH --array=0-1');
    expect(s).toContain('#SBATCH --time=01:30:00');
    expect(s).toContain('#SBATCH --gres=gpu:1');
    expect(s).toContain('#SBATCH --signal=B:USR1@120');
    expect(s).toContain('scontrol requeue');
    expect(s).toContain('queue work --workspace /ws --only "$RUN" --until-empty');
  });
});
