// The playground's generation child process, for real: a tiny model trained by `lmwb train` in this test's
// workspace, the supervisor (server/generation-worker.ts) running a real `lmwb generate-worker`. Load and generate
// (the streamed tokens add up to the result, which equals `lmwb generate --json` with the same settings: the
// oracle), cancel mid-way, bad checkpoints (one line with a code), the LRU cache freeing GPU buffers, kill -9 of the
// child (its request fails with WORKER_DIED, the worker is restarted and says so). Then the backend's playground
// area over the same worker: batched events (≤ 10 a second), two panes, validation, save to samples.jsonl.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, tempDir } from '../helpers';
import { GenerationWorker } from '../../src-main/server/generation-worker';
import { Backend } from '../../src-main/server/backend';
import type { WorkerEvent } from '../../src-main/engine/generate/serve-protocol';
import type { PlaygroundStatus } from '../../src-main/api/areas/playground';
import type { ApiEvent } from '../../src-main/api/contract';
import { UserError } from '../../src-main/util/errors';

const xdg = process.env.XDG_RUNTIME_DIR ?? '/tmp/xdg-runtime-0';
mkdirSync(xdg, { recursive: true, mode: 0o700 });
process.env.XDG_RUNTIME_DIR = xdg;

const tmp = tempDir('lmwb-playground-');
const ws = tmp.path;
const RUN = 'tiny';
const ckpt = (step: number) => join(ws, 'runs', RUN, 'checkpoints', `step_${String(step).padStart(7, '0')}.safetensors`);

function lmwb(args: string[]) {
  const r = spawnSync(process.execPath, [join(repoRoot, 'bin', 'lmwb.mjs'), ...args], { cwd: ws, encoding: 'utf8', timeout: 300_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const statuses: PlaygroundStatus[] = [];
let worker: GenerationWorker;

beforeAll(() => {
  const r = lmwb(['train', '--preset', 'smoke', '--workspace', ws, '--set', 'training.max_steps=20', '--set', 'eval.interval=10', '--set', 'checkpoint.interval=5', '--set', 'checkpoint.keep_last=0', '--out', `runs/${RUN}`]);
  if (r.code !== 0) throw new Error(r.err);
  worker = new GenerationWorker({ cwd: ws, onStatus: (s) => statuses.push(s), cancelGraceMs: 60_000 });
}, 300_000);
afterAll(async () => {
  await worker?.close();
  tmp.cleanup();
});

const SETTINGS = { temperature: 0.8, topP: 0.9, topK: 40, seed: 3, maxNewTokens: 80 };

describe('the generation worker (a real child process)', () => {
  it('loads a checkpoint and streams tokens that add up to what `lmwb generate` prints', async () => {
    const events: WorkerEvent[] = [];
    const r = await worker.generate({ checkpoint: ckpt(20), prompt: 'Once upon a time', settings: SETTINGS, numSamples: 2 }, (e) => events.push(e));
    expect(r.samples).toHaveLength(2);
    const loaded = events.find((e) => e.type === 'loaded');
    expect(loaded).toMatchObject({ step: 20, runDir: join(ws, 'runs', RUN), cached: false });
    for (const s of r.samples) {
      const streamed = events.filter((e): e is Extract<WorkerEvent, { type: 'token' }> => e.type === 'token' && e.sample === s.sample);
      expect(streamed.map((e) => e.text).join('')).toBe(s.text);
      expect(streamed.filter((e) => e.token >= 0).map((e) => e.token)).toEqual(s.ids);
      expect(s.ids).toHaveLength(80);
    }
    // The oracle: the CLI with the same checkpoint and settings.
    const cli = lmwb(['generate', '--checkpoint', ckpt(20), '--prompt', 'Once upon a time', '--temperature', '0.8', '--top-p', '0.9', '--top-k', '40', '--seed', '3', '--max-new-tokens', '80', '--num-samples', '2', '--json', '--no-save']);
    expect(cli.code, cli.err).toBe(0);
    const want = cli.out.trim().split('\n').map((l) => JSON.parse(l) as { ids: number[]; text: string });
    expect(r.samples.map((s) => s.ids)).toEqual(want.map((s) => s.ids));
    expect(r.samples.map((s) => s.text)).toEqual(want.map((s) => s.text));
    expect(worker.status()).toMatchObject({ worker: 'ready', restarts: 0 });
  }, 120_000);

  it('cancels mid-way: the samples end where they were, stop reason aborted', async () => {
    const ac = new AbortController();
    let tokens = 0;
    const r = await worker.generate({ checkpoint: ckpt(20), prompt: 'The', settings: { ...SETTINGS, maxNewTokens: 5000 }, numSamples: 1 }, (e) => {
      if (e.type === 'token' && ++tokens === 70) ac.abort();
    }, ac.signal);
    expect(r.samples[0].stop_reason).toBe('aborted');
    expect(r.samples[0].ids.length).toBeGreaterThanOrEqual(70);
    expect(r.samples[0].ids.length).toBeLessThan(5000);
  }, 120_000);

  it('a bad checkpoint is a one-line error with a code', async () => {
    const bad = join(ws, 'junk', 'checkpoints');
    mkdirSync(bad, { recursive: true });
    writeFileSync(join(bad, 'step_0000001.safetensors'), 'this is not a checkpoint\nat all\n');
    const fail = (file: string) => worker.generate({ checkpoint: file, prompt: 'x', settings: SETTINGS, numSamples: 1 }, () => {}).then(() => undefined, (e: unknown) => e as UserError);
    const e1 = await fail(join(bad, 'step_0000001.safetensors'));
    expect(e1).toBeInstanceOf(UserError);
    expect(e1?.code).toBe('FILE_INVALID');
    expect(e1?.message).toMatch(/is not a safetensors file/);
    expect(e1?.message).not.toContain('\n');
    const e2 = await fail(join(ws, 'runs', RUN, 'checkpoints', 'step_0000999.safetensors'));
    expect(e2?.code).toBe('FILE_NOT_FOUND');
    expect(worker.status().worker).toBe('ready'); // the worker survives bad requests
  }, 60_000);

  it('keeps two checkpoints loaded; loading more frees the least recently used one (GPU buffers stay flat)', async () => {
    const gen = (step: number) => worker.generate({ checkpoint: ckpt(step), prompt: 'A', settings: { ...SETTINGS, maxNewTokens: 4 }, numSamples: 1 }, () => {});
    await gen(5);
    await gen(10);
    const two = await worker.stats();
    expect(two.loaded.map((l) => l.checkpoint).sort()).toEqual([ckpt(10), ckpt(5)].sort());
    await gen(15);
    await gen(20);
    const again = await worker.stats();
    expect(again.loaded.map((l) => l.checkpoint).sort()).toEqual([ckpt(15), ckpt(20)].sort());
    expect(again.gpuBuffers).toBe(two.gpuBuffers);
    expect(again.gpuDevices).toBe(1);
    // A different number of samples replaces the checkpoint's Generator instead of adding one.
    await worker.generate({ checkpoint: ckpt(20), prompt: 'A', settings: { ...SETTINGS, maxNewTokens: 4 }, numSamples: 3 }, () => {});
    await gen(20);
    expect((await worker.stats()).gpuBuffers).toBe(two.gpuBuffers);
  }, 120_000);

  it('kill -9 of the child: its request fails with WORKER_DIED, the worker is restarted and says so', async () => {
    const pid = worker.workerPid!;
    expect(pid).toBeGreaterThan(0);
    statuses.length = 0;
    let killed = false;
    const err = await worker.generate({ checkpoint: ckpt(20), prompt: 'The', settings: { ...SETTINGS, maxNewTokens: 5000 }, numSamples: 1 }, (e) => {
      if (e.type === 'token' && !killed) {
        killed = true;
        process.kill(pid, 'SIGKILL');
      }
    }).then(() => undefined, (e: unknown) => e as UserError);
    expect(err?.code).toBe('WORKER_DIED');
    expect(err?.message).toMatch(/^the generation worker stopped \(SIGKILL\)/);
    const r = await worker.generate({ checkpoint: ckpt(10), prompt: 'A', settings: { ...SETTINGS, maxNewTokens: 8 }, numSamples: 1 }, () => {});
    expect(r.samples[0].ids).toHaveLength(8);
    expect(worker.workerPid).not.toBe(pid);
    expect(statuses.map((s) => s.worker)).toEqual(['restarting', 'ready']);
    expect(statuses[1]).toMatchObject({ restarts: 1, message: 'the generation worker was restarted (1×)' });
  }, 120_000);
});

describe('the backend playground area', () => {
  let backend: Backend;
  const events: Array<{ t: number; e: ApiEvent }> = [];
  beforeAll(() => {
    backend = new Backend({ workspace: ws, host: 'serve' });
    backend.connect((e) => events.push({ t: Date.now(), e }));
  });
  afterAll(async () => {
    await backend?.close();
  });

  it('lists checkpoints with their val loss; validates settings with the CLI\'s ranges', async () => {
    const runs = await backend.request('playground.checkpoints');
    const tiny = runs.find((r) => r.id === RUN)!;
    expect(tiny.checkpoints.map((c) => c.step)).toEqual([5, 10, 15, 20]);
    expect(tiny.checkpoints[1].valLoss).toBeGreaterThan(0);
    expect(tiny.checkpoints[0].valLoss).toBeNull();
    expect(tiny.checkpoints[3].ref).toBe(`${RUN}/step_0000020.safetensors`);
    const bad = await backend.call({ method: 'playground.generate', params: { prompt: 'x', settings: { temperature: 1, topP: 0, topK: 0, seed: 0, maxNewTokens: 5, numSamples: 1 }, panes: [{ pane: 'a', checkpoint: tiny.checkpoints[0].ref }] } });
    expect(bad).toEqual({ ok: false, error: { code: 'INVALID_ARGUMENT', message: 'playground.generate: settings.topP: top-p must be in (0, 1] (1 keeps every token)' } });
    const outside = await backend.call({ method: 'playground.generate', params: { prompt: 'x', settings: { temperature: 1, topP: 1, topK: 0, seed: 0, maxNewTokens: 5, numSamples: 1 }, panes: [{ pane: 'a', checkpoint: '../x/step_1.safetensors' }] } });
    expect(outside.ok).toBe(false);
  });

  it('streams two panes side by side in batched events and saves a sample to samples.jsonl', async () => {
    const settings = { temperature: 0.8, topP: 1, topK: 0, seed: 7, maxNewTokens: 150, numSamples: 1 };
    const job = await backend.request('playground.generate', { prompt: 'Once', settings, panes: [{ pane: 'a', checkpoint: `${RUN}/step_0000010.safetensors` }, { pane: 'b', checkpoint: `${RUN}/step_0000020.safetensors` }] });
    const text: Record<string, string> = { a: '', b: '' };
    const done = new Set<string>();
    let partial = 0;
    const t0 = Date.now();
    for (let seen = 0; done.size < 2;) {
      if (Date.now() - t0 > 120_000) throw new Error('the job did not finish');
      for (; seen < events.length; seen++) {
        const e = events[seen].e;
        if (e.type !== 'generation') continue;
        for (const u of e.updates) {
          if (u.job !== job.job) continue;
          const s = u.samples[0];
          expect(s.from).toBe(text[u.pane].length); // deltas continue exactly
          text[u.pane] += s.text;
          if (u.state === 'done') done.add(u.pane);
          else if (s.text) partial++;
        }
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(partial).toBeGreaterThanOrEqual(2);
    const gen = events.filter((x) => x.e.type === 'generation');
    for (let i = 1; i < gen.length; i++) expect(gen[i].t - gen[i - 1].t).toBeGreaterThanOrEqual(95); // ≤ 10 a second
    const final = await backend.request('playground.job', { job: job.job });
    expect(final.panes.map((p) => p.samples[0].text)).toEqual([text.a, text.b]);
    expect(final.panes.map((p) => p.samples[0].tokens)).toEqual([150, 150]);
    // The same sample as the worker gives directly for that checkpoint (pane a and b use their own checkpoints).
    const direct = await worker.generate({ checkpoint: ckpt(20), prompt: 'Once', settings: { temperature: 0.8, topP: 1, topK: 0, seed: 7, maxNewTokens: 150 }, numSamples: 1 }, () => {});
    expect(text.b).toBe(direct.samples[0].text);

    const saved = await backend.request('playground.save', { job: job.job, pane: 'b', sample: 0 });
    expect(saved).toEqual({ run: RUN, checkpoint: 'step_0000020.safetensors', file: 'samples.jsonl', saved: true });
    expect((await backend.request('playground.save', { job: job.job, pane: 'b', sample: 0 })).saved).toBe(false);
    const lines = readFileSync(join(ws, 'runs', RUN, 'samples.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ checkpoint: 'step_0000020.safetensors', step: 20, prompt: 'Once', text: text.b, stop_reason: 'max_tokens', settings: { temperature: 0.8, top_p: 1, top_k: 0, seed: 7, max_new_tokens: 150 } });
    expect((lines[0].ids as number[]).length).toBe(150);
    const detail = await backend.request('runs.get', { id: RUN });
    expect(detail.samples.map((s) => s.text)).toEqual([text.b]);
  }, 180_000);

  it('Stop ends the panes at once; what was shown can be saved', async () => {
    const settings = { temperature: 1, topP: 1, topK: 0, seed: 1, maxNewTokens: 5000, numSamples: 1 };
    const job = await backend.request('playground.generate', { prompt: 'The', settings, panes: [{ pane: 'a', checkpoint: `${RUN}/step_0000020.safetensors` }] });
    const t0 = Date.now();
    for (;;) {
      const j = await backend.request('playground.job', { job: job.job });
      if (j.panes[0].samples[0].tokens > 5) break;
      if (Date.now() - t0 > 120_000) throw new Error('no tokens');
      await new Promise((r) => setTimeout(r, 100));
    }
    expect((await backend.request('playground.stop', { job: job.job })).stopped).toBe(true);
    const j = await backend.request('playground.job', { job: job.job });
    expect(j.panes[0].state).toBe('stopped');
    expect(j.panes[0].samples[0].stopReason).toBe('aborted');
    await backend.request('playground.save', { job: job.job, pane: 'a', sample: 0 });
    const last = JSON.parse(readFileSync(join(ws, 'runs', RUN, 'samples.jsonl'), 'utf8').trim().split('\n').pop()!) as { text: string; stop_reason: string; ids: number[] };
    expect(last.stop_reason).toBe('aborted');
    expect(last.text).toBe(j.panes[0].samples[0].text);
    expect(last.ids.length).toBe(j.panes[0].samples[0].tokens);
  }, 180_000);
});
