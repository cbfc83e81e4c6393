// The queue on a real one-node Slurm cluster (munged + slurmctld + slurmd on loopback, started by the test and
// stopped with every daemon): runs queued with `lmwb queue add --backend slurm` become sbatch jobs whose own
// worker (`queue work --only ID`) trains them in the shared workspace with real trainer processes. Two runs finish
// with their metrics in the store; a third is cancelled through scancel; a kill -9 of a trainer inside its job is
// restarted by the in-job worker from its checkpoint; a USR1 to the batch shell (what Slurm sends before the time
// limit or on pre-emption) makes the trainer checkpoint, the job requeue itself and the requeued job resume; so does
// Slurm's own requeue of the running job (scontrol requeue). The
// interrupted runs log every step exactly once and end bit for bit like the uninterrupted one.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, tempDir } from '../helpers';
import { readConfig, readMetrics, readStatus } from '../../src-main/runs/read';
import type { RunStatus } from '../../src-main/runs/format';
import { viewOf, timeLimitFor } from '../../src-main/runs/slurm/jobs';
import { jobStates } from '../../src-main/runs/slurm/slurm-cli';
import { differingTensors, lmwb, tinyConfig, tinyTokens, waitStatus, writeJson } from '../runs/helpers';
import { slurmUnavailable, startSlurmCluster, type SlurmCluster } from '../helpers/slurm-cluster';

// Each trainer pauses 25 ms after every step (LMWB_STEP_DELAY_MS, inherited by the CLI processes and Slurm jobs),
// so the run is still training when the test's CLI call reaches it, however fast the machine.
process.env.LMWB_STEP_DELAY_MS = '25';

const why = slurmUnavailable();
if (why && process.env.CI === 'true') throw new Error(`CI needs Slurm for these tests: ${why}`);

const STEPS = 400;
const LOG = 2;
const CLI = join(repoRoot, 'bin', 'lmwb.mjs');

describe.skipIf(!!why)('the queue on a real Slurm cluster', () => {
  let c: SlurmCluster;
  const tmp = tempDir('lmwb-slurm-ws-');
  const ws = tmp.path;
  beforeAll(async () => {
    c = await startSlurmCluster({ cpus: 16 });
    // The lmwb CLI (and, through sbatch's exported environment, the jobs) find the test cluster with SLURM_CONF.
    process.env.SLURM_CONF = c.env.SLURM_CONF;
  }, 60_000);
  afterAll(() => {
    c?.stop();
    delete process.env.SLURM_CONF;
    tmp.cleanup();
  });

  it('maps Slurm job states onto run states, status.json winning when it has the newer word', () => {
    const s = (state: RunStatus['state']) => ({ state, attempts: 0, restarts: [], created: '', updated: '' }) as RunStatus;
    expect(viewOf(s('queued'), { id: '1', state: 'PENDING', reason: 'Priority' }, '1')).toMatchObject({ state: 'queued', slurm: 'PENDING (Priority)' });
    expect(viewOf(s('queued'), { id: '1', state: 'RUNNING', reason: 'None' }, '1')).toMatchObject({ state: 'running', slurm: 'RUNNING' });
    expect(viewOf(s('running'), { id: '1', state: 'TIMEOUT', reason: '' }, '1').state).toBe('failed');
    expect(viewOf(s('queued'), { id: '1', state: 'CANCELLED', reason: '' }, '1').state).toBe('cancelled');
    expect(viewOf(s('done'), { id: '1', state: 'RUNNING', reason: '' }, '1').state).toBe('done');
    expect(viewOf(s('running'), undefined, '1')).toMatchObject({ state: 'running', slurm: 'unknown to Slurm' });
    expect(timeLimitFor([{ training: { time_budget_s: 5400 } }])).toBe(5400 + 600);
    expect(timeLimitFor([{ training: {} }])).toBeUndefined();
  });

  it('trains runs as sbatch jobs; cancels one; survives kill -9 of a trainer and a USR1 requeue, no step lost or doubled', async () => {
    const tokens = tinyTokens(ws);
    const slurmArgs = ['--backend', 'slurm', '--gres', '', '--lmwb', `${process.execPath} ${CLI}`, '--time', '00:20:00'];
    const add = (name: string, over: { steps?: number; lr?: number } = {}) => {
      const cfg = writeJson(join(ws, `${name}.json`), tinyConfig(tokens, { steps: over.steps ?? STEPS, name, checkpointEvery: 40, logEvery: LOG, lr: over.lr }));
      const r = lmwb(['queue', 'add', '--config', cfg, ...slurmArgs], ws);
      expect(r.code, r.err).toBe(0);
      const job = /Slurm job (\d+)/.exec(r.err)?.[1];
      expect(job, r.err).toBeDefined();
      return { id: r.out.trim(), job: job!, dir: join(ws, 'runs', r.out.trim()) };
    };

    // --dry-run prints the script and queues nothing.
    const dry = lmwb(['queue', 'add', '--config', writeJson(join(ws, 'dry.json'), tinyConfig(tokens, { steps: 10, name: 'dry' })), ...slurmArgs, '--time', '01:30:00', '--partition', 'debug', '--dry-run'], ws);
    expect(dry.code, dry.err).toBe(0);
    expect(dry.out).toContain('#SBATCH --time=01:30:00');
    expect(dry.out).toContain('#SBATCH --partition=debug');
    expect(dry.out).toContain('--only "$RUN"');
    expect(existsSync(join(ws, 'runs'))).toBe(false);

    // kill -9 of the trainer inside its job, after its checkpoint at step 40 (each run is waited for as soon as it
    // is queued: a tiny run lasts seconds, a CLI start on this box about as long). Checkpoints are written behind
    // the training steps (checkpoint-writer.ts), and on a loaded 2-core box the first one, which starts the writer
    // thread, has been seen to land more than 12 steps late: each wait below also waits for the file (written to a
    // temporary name and renamed, so there when complete).
    const ckpt40 = (dir: string): boolean => existsSync(join(dir, 'checkpoints', 'step_0000040.safetensors'));
    const crash = add('crash');
    await waitStatus(crash.dir, (s) => s.state === 'running' && (s.step ?? 0) >= 50 && !!s.pid && ckpt40(crash.dir), 150_000, 'crash at step 50, checkpoint 40 written');
    const killed = readStatus(crash.dir)!;
    expect(killed.step!).toBeLessThan(STEPS);
    process.kill(killed.pid!, 'SIGKILL');

    // USR1 to the batch shell (Slurm's warning before the time limit): checkpoint, requeue, resume.
    const usr1 = add('usr1');
    await waitStatus(usr1.dir, (s) => s.state === 'running' && (s.step ?? 0) >= 50 && ckpt40(usr1.dir), 150_000, 'usr1 at step 50, checkpoint 40 written');
    const sig = spawnSync('scancel', ['--batch', '--signal=USR1', usr1.job], { env: c.env, encoding: 'utf8' });
    expect(sig.status, sig.stderr).toBe(0);

    // Slurm's own requeue of a running job (what pre-emption does): the job is terminated and started again.
    const sreq = add('sreq');
    await waitStatus(sreq.dir, (s) => s.state === 'running' && (s.step ?? 0) >= 50 && ckpt40(sreq.dir), 150_000, 'sreq at step 50, checkpoint 40 written');
    const rq = spawnSync('scontrol', ['requeue', sreq.job], { env: c.env, encoding: 'utf8' });
    expect(rq.status, rq.stderr).toBe(0);

    // Two runs as one sweep: ONE job array; the first has the same config as crash and usr1 (the reference).
    const base = writeJson(join(ws, 'base.json'), tinyConfig(tokens, { steps: STEPS, name: 'sw', checkpointEvery: 40, logEvery: LOG }));
    const sw = lmwb(['sweep', '--config', base, '--grid', 'training.max_learning_rate=2e-3,1e-3', '--name', 'pair', ...slurmArgs], ws);
    expect(sw.code, sw.err).toBe(0);
    const array = /Slurm job array (\d+) \(tasks 0-1\)/.exec(sw.err)?.[1];
    expect(array, sw.err).toBeDefined();
    const [ref, other] = sw.out.trim().split('\n').map((id, i) => ({ id, job: `${array!}_${i}`, dir: join(ws, 'runs', id) }));
    expect(readConfig(ref.dir)!.training).toMatchObject({ max_learning_rate: 2e-3 });
    const doomed = add('doomed', { steps: 100_000 });
    for (const r of [ref, other, crash, usr1, doomed]) {
      expect(readStatus(r.dir)!.backend).toBe(`slurm:${r.job}`);
      expect(readFileSync(join(r.dir, 'slurm.sbatch'), 'utf8')).toContain(`RUNS=(${r === ref || r === other ? `${ref.id} ${other.id}` : r.id})`);
    }
    expect(readFileSync(join(ref.dir, 'slurm.sbatch'), 'utf8')).toContain('#SBATCH --array=0-1');

    // A local worker leaves Slurm's runs alone.
    const local = lmwb(['queue', 'work', '--until-empty'], ws);
    expect(local.code, local.err).toBe(0);
    expect(local.err).toContain('worker done: 0 runs');
    // `queue list` shows where each run is and Slurm's word for it.
    const list = lmwb(['queue', 'list'], ws);
    expect(list.code, list.err).toBe(0);
    expect(list.out).toMatch(new RegExp(`${doomed.id}\\s+\\S+.*slurm:${doomed.job} (PENDING|RUNNING)`));

    // Cancel a running job through `queue cancel`.
    await waitStatus(doomed.dir, (s) => s.state === 'running' && (s.step ?? 0) >= 2, 150_000, 'doomed running');
    const cancel = lmwb(['queue', 'cancel', doomed.id, '--timeout', '60'], ws);
    expect(cancel.code, cancel.err).toBe(0);
    expect(cancel.out.trim()).toBe(`${doomed.id}: cancelled`);

    // Wait for the rest, releasing the requeued job from Slurm's BeginTime hold to keep the test short.
    const end = Date.now() + 200_000;
    let sawRequeue = false;
    for (;;) {
      const states = await jobStates([usr1.job, sreq.job], { env: c.env });
      for (const id of [usr1.job, sreq.job]) {
        const j = states.get(id);
        if (j?.state === 'PENDING' && j.reason === 'BeginTime') {
          if (id === usr1.job) sawRequeue = true;
          spawnSync('scontrol', ['update', `JobId=${id}`, 'StartTime=now'], { env: c.env });
        }
      }
      const all = [ref, other, crash, usr1, sreq].map((r) => readStatus(r.dir)!.state);
      if (all.every((s) => s === 'done')) break;
      if (all.some((s) => s === 'failed' || s === 'cancelled' || s === 'diverged')) throw new Error(`a run ended ${JSON.stringify(all)}: ${[ref, other, crash, usr1, sreq].map((r) => JSON.stringify(readStatus(r.dir)?.error)).join(' ')}`);
      if (Date.now() > end) throw new Error(`timed out: ${JSON.stringify(all)}`);
      await new Promise((r) => setTimeout(r, 500));
    }
    expect(sawRequeue).toBe(true);

    for (const r of [ref, other, crash, usr1, sreq]) {
      const s = readStatus(r.dir)!;
      expect(s.state).toBe('done');
      expect(s.backend).toBe(`slurm:${r.job}`);
      expect(Number.isFinite(s.final_loss)).toBe(true);
      // every logged step exactly once, in order
      const train = readMetrics(r.dir).records.filter((m) => m.kind === 'train');
      expect(train.map((m) => m.step)).toEqual(Array.from({ length: STEPS / LOG }, (_, i) => (i + 1) * LOG));
    }
    const cs = readStatus(crash.dir)!;
    expect(cs.restarts).toHaveLength(1);
    expect(cs.restarts[0].reason).toMatch(/signal SIGKILL/);
    expect(cs.restarts[0].from_step).toBeGreaterThanOrEqual(40);
    const us = readStatus(usr1.dir)!;
    expect(us.attempts).toBe(2);
    const out = readFileSync(join(usr1.dir, `slurm-${usr1.job}.out`), 'utf8');
    expect(out).toMatch(new RegExp(`\\[${usr1.id}\\] resuming at step [1-9]\\d* of ${STEPS}`));
    // the interrupted runs end bit for bit like the uninterrupted one (weights and AdamW moments)
    const ck = (r: { dir: string }) => join(r.dir, 'checkpoints', `step_${String(STEPS).padStart(7, '0')}.safetensors`);
    expect(differingTensors(ck(crash), ck(ref))).toEqual([]);
    expect(differingTensors(ck(usr1), ck(ref))).toEqual([]);
    expect(readStatus(sreq.dir)!.attempts).toBeGreaterThanOrEqual(2);
    expect(readFileSync(join(sreq.dir, `slurm-${sreq.job}.out`), 'utf8')).toMatch(new RegExp(`\\[${sreq.id}\\] resuming at step [1-9]\\d* of ${STEPS}`));
    expect(differingTensors(ck(sreq), ck(ref))).toEqual([]);
    expect(differingTensors(ck(other), ck(ref)).length).toBeGreaterThan(0);

    const d = readStatus(doomed.dir)!;
    expect(d.state).toBe('cancelled');
    const dj = (await jobStates([doomed.job], { env: c.env })).get(doomed.job);
    expect(['CANCELLED', 'COMPLETED']).toContain(dj?.state);
  }, 420_000);
});
