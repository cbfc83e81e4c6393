// Crash-proof training through the real queue worker and real trainer processes: kill -9 of the trainer (its pid
// from `lmwb runs show ID --json`) after a checkpoint, and again before any checkpoint; the worker restarts it and
// records the restart; metrics have every logged step once, in order, with training wall-clock never going back;
// the final checkpoint's tensors are bitwise identical to an uninterrupted run of the same config.
import { afterAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { tempDir } from '../helpers';
import { readMetrics, readStatus } from '../../src-main/runs/read';
import { differingTensors, lmwb, lmwbBackground, tinyConfig, tinyTokens, waitStatus, writeJson } from './helpers';

// Each trainer pauses 60 ms after every step (LMWB_STEP_DELAY_MS, inherited by the CLI processes and Slurm jobs),
// so the run is still training when the test's CLI call reaches it, however fast the machine.
process.env.LMWB_STEP_DELAY_MS = '60';

const tmp = tempDir('lmwb-crash-');
afterAll(() => tmp.cleanup());

const STEPS = 300;
const LOG = 2;

describe('kill -9 of a trainer under the queue worker', () => {
  it('restarts it from its newest checkpoint (or from scratch) and ends bit for bit like an uninterrupted run', async () => {
    const ws = tmp.path;
    const tokens = tinyTokens(ws);
    const add = (name: string, checkpointEvery: number) => {
      const cfg = writeJson(join(ws, `${name}.json`), tinyConfig(tokens, { steps: STEPS, name, checkpointEvery, logEvery: LOG }));
      const r = lmwb(['queue', 'add', '--config', cfg], ws);
      expect(r.code, r.err).toBe(0);
      return r.out.trim();
    };
    // Queue order is the order of adding: the two crash runs first, the reference last.
    const crash = add('crash', 40);
    const crash0 = add('crash0', 0); // checkpoint only at the end: a kill leaves none
    const ref = add('ref', 40);
    const worker = lmwbBackground(['queue', 'work', '--until-empty', '--retries', '2'], ws);

    const kill = async (id: string, minStep: number) => {
      const dir = join(ws, 'runs', id);
      // The trainer's pid as a user gets it (the CLI), as soon as the run trains; then kill it once past minStep.
      await waitStatus(dir, (s) => s.state === 'running' && (s.step ?? 0) >= 1, 90_000, `${id} training`);
      const show = lmwb(['runs', 'show', id, '--json'], ws);
      expect(show.code, show.err).toBe(0);
      const info = JSON.parse(show.out) as { status: { pid?: number; state: string } };
      expect(info.status.state).toBe('running');
      expect(info.status.pid).toBeGreaterThan(0);
      const at = await waitStatus(dir, (s) => (s.step ?? 0) >= minStep || s.state !== 'running', 90_000, `${id} at step ${minStep}`);
      expect(at.state).toBe('running');
      expect(at.pid).toBe(info.status.pid);
      expect(at.step!).toBeLessThan(STEPS - 20); // well before its end
      process.kill(info.status.pid!, 'SIGKILL');
      return info.status.pid!;
    };
    const killed1 = await kill(crash, 50); // past the checkpoint at step 40
    const killed2 = await kill(crash0, 10);
    const w = await worker.done;
    expect(w.code, w.err + w.out).toBe(0);
    expect(w.out).toMatch(new RegExp(`\\[${crash}\\] trainer died \\(signal SIGKILL\\); restart 1/2 from step \\d+`));

    for (const [id, killedPid, ckptStep] of [[crash, killed1, 40], [crash0, killed2, 0]] as const) {
      const dir = join(ws, 'runs', id);
      const s = readStatus(dir)!;
      expect(s.state).toBe('done');
      expect(s.attempts).toBe(2);
      expect(s.restarts).toHaveLength(1);
      expect(s.restarts[0].reason).toMatch(/signal SIGKILL/);
      if (ckptStep === 0) expect(s.restarts[0].from_step).toBe(0);
      else expect(s.restarts[0].from_step).toBeGreaterThanOrEqual(ckptStep);
      expect(s.pid).not.toBe(killedPid);
      // metrics: every logged step exactly once, increasing; training wall-clock never goes back
      const m = readMetrics(dir);
      const train = m.records.filter((r) => r.kind === 'train');
      expect(train.map((r) => r.step)).toEqual(Array.from({ length: STEPS / LOG }, (_, i) => (i + 1) * LOG));
      for (let i = 1; i < train.length; i++) expect(train[i].elapsed_s).toBeGreaterThanOrEqual(train[i - 1].elapsed_s);
      // the final checkpoint's tensors (weights and AdamW moments) equal the uninterrupted run's bit for bit
      const ck = (run: string) => join(ws, 'runs', run, 'checkpoints', `step_${String(STEPS).padStart(7, '0')}.safetensors`);
      expect(differingTensors(ck(id), ck(ref))).toEqual([]);
    }
    expect(readStatus(join(ws, 'runs', ref))!.restarts).toHaveLength(0);
  }, 300_000);
});
