// Pause, resume and cancel through the real CLI while a real worker trains: `queue pause` makes the trainer
// checkpoint and stop (paused, not a crash); `queue resume` puts it back in its place and it continues bit for bit
// (final tensors equal an uninterrupted run's); `queue cancel` of a running run stops its trainer (cancelled), of a
// queued run cancels it at once.
import { afterAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { tempDir } from '../helpers';
import { readMetrics, readStatus } from '../../src-main/runs/read';
import { differingTensors, lmwb, lmwbBackground, tinyConfig, tinyTokens, waitStatus, writeJson } from './helpers';

// Each trainer pauses 25 ms after every step (LMWB_STEP_DELAY_MS, inherited by the CLI processes and Slurm jobs),
// so the run is still training when the test's CLI call reaches it, however fast the machine.
process.env.LMWB_STEP_DELAY_MS = '25';

const tmp = tempDir('lmwb-control-');
afterAll(() => tmp.cleanup());

const STEPS = 400;

describe('queue pause / resume / cancel', () => {
  it('pauses and resumes bit for bit, cancels running and queued runs', async () => {
    const ws = tmp.path;
    const tokens = tinyTokens(ws);
    const add = (name: string) => {
      const cfg = writeJson(join(ws, `${name}.json`), tinyConfig(tokens, { steps: STEPS, name, checkpointEvery: 40 }));
      const r = lmwb(['queue', 'add', '--config', cfg], ws);
      expect(r.code, r.err).toBe(0);
      return r.out.trim();
    };
    const p = add('pauseme');
    const c = add('cancelme');
    const q = add('queued');
    const ref = add('ref');
    const dir = (id: string) => join(ws, 'runs', id);

    const cq = lmwb(['queue', 'cancel', q], ws);
    expect(cq.out.trim()).toBe(`${q}: cancelled`);

    const worker = lmwbBackground(['queue', 'work', '--until-empty', '--poll', '200'], ws);
    await waitStatus(dir(p), (s) => s.state === 'running' && (s.step ?? 0) >= 20, 90_000, 'pauseme running');
    const pause = lmwb(['queue', 'pause', p], ws);
    expect(pause.code, pause.err).toBe(0);
    expect(pause.out.trim()).toBe(`${p}: paused`);
    const paused = readStatus(dir(p))!;
    expect(paused.state).toBe('paused');
    expect(paused.step!).toBeLessThan(STEPS);
    expect(paused.restarts).toEqual([]);
    const resume = lmwb(['queue', 'resume', p], ws);
    expect(resume.out.trim()).toBe(`${p}: queued`);

    await waitStatus(dir(c), (s) => s.state === 'running' && (s.step ?? 0) >= 20, 90_000, 'cancelme running');
    const cancel = lmwb(['queue', 'cancel', c], ws);
    expect(cancel.out.trim()).toBe(`${c}: cancelled`);

    const w = await worker.done;
    expect(w.code, w.err).toBe(0);
    expect(readStatus(dir(q))!.attempts).toBe(0); // never trained
    const sc = readStatus(dir(c))!;
    expect(sc.state).toBe('cancelled');
    expect(sc.step!).toBeLessThan(STEPS);
    const sp = readStatus(dir(p))!;
    expect(sp).toMatchObject({ state: 'done', attempts: 2, restarts: [] });
    const steps = readMetrics(dir(p)).records.filter((r) => r.kind === 'train').map((r) => r.step);
    expect(steps).toEqual(Array.from({ length: STEPS / 2 }, (_, i) => (i + 1) * 2));
    const ck = (id: string) => join(dir(id), 'checkpoints', `step_${String(STEPS).padStart(7, '0')}.safetensors`);
    expect(differingTensors(ck(p), ck(ref))).toEqual([]);
    // the order of work: the resumed run went back to its place, before the reference queued after it
    expect(w.out.indexOf(`[${p}] resuming at step`)).toBeLessThan(w.out.indexOf(`[${ref}] starting`));
  }, 300_000);
});
