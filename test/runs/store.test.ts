// The run store without a GPU: listing many runs through the index (cold, warm, stale entries, deleted runs, a
// corrupt index), the real CLI's `runs list|show|diff|tag|note|import|export` on fixtures, finding runs by prefix
// and name, queue state changes, and two worker processes racing for one queue's claims.
import { afterAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { hostname } from 'node:os';
import { appendFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot, tempDir } from '../helpers';
import { createRun, resolveRun } from '../../src-main/runs/store';
import { listRuns, INDEX_FILE, type ListStats } from '../../src-main/runs/index';
import { updateStatus } from '../../src-main/runs/status';
import { readMetrics, readStatus } from '../../src-main/runs/read';
import { claimNext, requestStop, requeue } from '../../src-main/runs/queue';
import { UserError } from '../../src-main/util/errors';
import { lmwb } from './helpers';

const tmp = tempDir('lmwb-store-');
afterAll(() => tmp.cleanup());

const cfg = (over: Record<string, unknown> = {}) => ({
  name: 'r',
  model: { vocab_size: 256, context_length: 16, d_model: 32, num_layers: 1, num_heads: 2, d_ff: 48, norm: 'pre' },
  training: { batch_size: 4, max_steps: 10, max_learning_rate: 1e-3 },
  ...over,
});

describe('listing through the index', () => {
  const ws = join(tmp.path, 'many');
  const N = 300;
  it('reads every run cold, none warm, only the changed ones after an update, and rebuilds a corrupt index', () => {
    const ids: string[] = [];
    const t0 = new Date('2026-01-01T00:00:00Z').getTime();
    for (let i = 0; i < N; i++) ids.push(createRun(ws, { config: cfg({ name: `run${i}` }), now: new Date(t0 + i * 1000), status: { state: i % 3 ? 'done' : 'queued', best_val_loss: 2 + i / 1000 } }).id);
    const cold: ListStats = { runs: 0, reread: 0, wroteIndex: false };
    const list = listRuns(ws, cold);
    expect(cold).toEqual({ runs: N, reread: N, wroteIndex: true });
    expect(list.map((r) => r.id)).toEqual(ids); // oldest first
    expect(list[5]).toMatchObject({ name: 'run5', state: 'done', lr: 1e-3, batch_size: 4, best_val_loss: 2.005 });

    const warm: ListStats = { runs: 0, reread: 0, wroteIndex: false };
    listRuns(ws, warm);
    expect(warm).toEqual({ runs: N, reread: 0, wroteIndex: false });

    updateStatus(join(ws, 'runs', ids[7]), { state: 'failed' });
    const after: ListStats = { runs: 0, reread: 0, wroteIndex: false };
    expect(listRuns(ws, after)[7].state).toBe('failed');
    expect(after.reread).toBe(1);

    rmSync(join(ws, 'runs', ids[0]), { recursive: true });
    expect(listRuns(ws).length).toBe(N - 1);

    writeFileSync(join(ws, 'runs', INDEX_FILE), '{"version":1,"entries":'); // torn index
    const rebuilt: ListStats = { runs: 0, reread: 0, wroteIndex: false };
    listRuns(ws, rebuilt);
    expect(rebuilt).toEqual({ runs: N - 1, reread: N - 1, wroteIndex: true });

    const r = lmwb(['runs', 'list', '--json', '--workspace', ws], tmp.path);
    expect(r.code, r.err).toBe(0);
    const json = JSON.parse(r.out) as Array<{ id: string; state: string }>;
    expect(json).toHaveLength(N - 1);
    expect(json.find((x) => x.id === ids[7])?.state).toBe('failed');
    const text = lmwb(['runs', 'list', '--state', 'failed'], ws); // the current folder is the default workspace
    expect(text.out.trim().split('\n')).toHaveLength(2);
    expect(text.out).toMatch(/^ID +STATE +STEP +BEST VAL/);
  });
});

describe('runs diff, tag, note, show', () => {
  const ws = join(tmp.path, 'diff');
  it('shows only the differing keys, nested keys flattened, the first run as baseline', () => {
    const a = createRun(ws, { config: cfg({ name: 'base' }) }).id;
    const b = createRun(ws, { config: cfg({ name: 'lr', training: { batch_size: 4, max_steps: 10, max_learning_rate: 3e-3 } }) }).id;
    const c = createRun(ws, { config: cfg({ name: 'post', model: { ...cfg().model, norm: 'post' } }) }).id;
    const r = lmwb(['runs', 'diff', a, b, c, '--json'], ws);
    expect(r.code, r.err).toBe(0);
    const d = JSON.parse(r.out) as { baseline: string; keys: string[]; values: Array<Record<string, unknown>> };
    expect(d.baseline).toBe(a);
    expect(d.keys).toEqual(['model.norm', 'training.max_learning_rate']);
    expect(d.values.map((v) => v['training.max_learning_rate'])).toEqual([1e-3, 3e-3, 1e-3]);
    const t = lmwb(['runs', 'diff', a, b, c], ws);
    const lines = t.out.split('\n');
    expect(lines[0]).toMatch(new RegExp(`^KEY +${a} \\(baseline\\) +${b} +${c}$`));
    expect(lines[1]).toMatch(/^model\.norm +"pre" +"pre" +"post"$/);
    expect(lines[2]).toMatch(/^training\.max_learning_rate +0\.001 +0\.003 +0\.001$/);
    expect(t.out).not.toMatch(/batch_size|d_model/);

    expect(lmwb(['runs', 'tag', a, 'baseline', 'keep'], ws).out).toMatch(/tags baseline, keep/);
    expect(lmwb(['runs', 'note', a, 'the', 'reference', 'run'], ws).code).toBe(0);
    const show = JSON.parse(lmwb(['runs', 'show', 'base', '--json'], ws).out) as { id: string; meta: { tags: string[]; notes: string } };
    expect(show.id).toBe(a); // found by name
    expect(show.meta).toMatchObject({ tags: ['baseline', 'keep'], notes: 'the reference run' });
    const text = lmwb(['runs', 'show', a.slice(0, 6)], ws); // a unique prefix
    expect(text.code, text.err).toBe(0);
    expect(text.out).toMatch(/state +queued/);
  });

  it('names a missing or ambiguous run in one line', () => {
    const r = lmwb(['runs', 'show', 'nope'], ws);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^lmwb: no run "nope" in .*runs\n$/);
    expect(() => resolveRun(ws, '')).toThrow(/matches 3 runs/);
  });
});

describe('runs import (CS336 reference tracker) and export', () => {
  it('turns tracker lines into our metrics, a finished status and meta.imported_from', () => {
    const ws = join(tmp.path, 'import');
    const src = join(tmp.path, 'torch-run');
    mkdirSync(src, { recursive: true });
    writeFileSync(join(src, 'config.json'), JSON.stringify({ run_name: 'torch-lr1e-3', model: { vocab_size: 10000, context_length: 256, d_model: 512, num_layers: 4, num_heads: 16, d_ff: 1344 }, optim: { lr: 1e-3, min_lr: 1e-4, batch_size: 32 }, max_iters: 5000 }));
    const lines = [
      { step: 10, wall_time_s: 1.5, 'train/loss': 8.1, 'train/lr': 1e-4, 'train/tok_s': 50000 },
      { step: 20, wall_time_s: 3.0, 'train/loss': 6.2, 'train/lr': 2e-4, 'train/tok_s': 51000 },
      { step: 20, wall_time_s: 3.4, 'val/loss': 6.0 },
      { step: 30, wall_time_s: 4.5, 'train/loss': 5.0, 'train/lr': 3e-4, 'train/tok_s': 52000, 'val/loss': 4.9 },
    ];
    writeFileSync(join(src, 'metrics.jsonl'), lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
    appendFileSync(join(src, 'metrics.jsonl'), '{"step": 40, "train/lo'); // torn tail (a crashed tracker)
    const r = lmwb(['runs', 'import', src, '--workspace', ws], tmp.path);
    expect(r.code, r.err).toBe(0);
    const id = r.out.trim();
    expect(id).toMatch(/^torch-lr1e-3-\d{8}-\d{6}$/);
    const dir = join(ws, 'runs', id);
    const show = JSON.parse(lmwb(['runs', 'show', id, '--json', '-w', ws], tmp.path).out) as {
      status: { state: string; step: number; best_val_loss: number; final_val_loss: number; final_loss: number; elapsed_s: number; total_steps: number };
      meta: { imported_from: string };
      config: { model: { d_model: number }; training: { batch_size: number; max_learning_rate: number; min_learning_rate: number; max_steps: number } };
    };
    expect(show.meta.imported_from).toBe(`cs336-tracker:${src}`);
    expect(show.status).toMatchObject({ state: 'done', step: 30, best_val_loss: 4.9, final_val_loss: 4.9, final_loss: 5.0, elapsed_s: 4.5, total_steps: 5000 });
    expect(show.config.model.d_model).toBe(512);
    expect(show.config.training).toMatchObject({ batch_size: 32, max_learning_rate: 1e-3, min_learning_rate: 1e-4, max_steps: 5000 });
    const m = readMetrics(dir).records;
    expect(m.map((x) => `${x.kind}@${x.step}`)).toEqual(['train@10', 'train@20', 'eval@20', 'train@30', 'eval@30']);
    expect(m[1]).toMatchObject({ kind: 'train', tokens: 20 * 32 * 256, elapsed_s: 3.0, loss: 6.2, lr: 2e-4, tokens_per_s: 51000 });
    expect(m[2]).toMatchObject({ kind: 'eval', val_loss: 6.0, elapsed_s: 3.4 });
    expect(Date.parse(m[3].time) - Date.parse(m[0].time)).toBe(3000); // absolute times follow wall_time_s

    const csv = lmwb(['runs', 'export', id, '--format', 'csv', '-w', ws], tmp.path);
    expect(csv.code, csv.err).toBe(0);
    const rows = csv.out.trim().split('\n');
    expect(rows[0]).toBe('kind,step,tokens,elapsed_s,time,loss,lr,grad_norm,tokens_per_s,loss_scale,val_loss,val_ppl,val_tokens');
    expect(rows).toHaveLength(6);
    expect(rows[2]).toMatch(/^train,20,163840,3,[^,]+,6\.2,0\.0002,NaN,51000,,,,$/);
    expect(rows[3]).toMatch(new RegExp(`^eval,20,163840,3\\.4,[^,]+,,,,,,6,${Math.exp(6)},0$`));
    const jsonl = lmwb(['runs', 'export', id, '--format', 'jsonl', '-w', ws], tmp.path);
    expect(jsonl.out.trim().split('\n').map((l) => JSON.parse(l).step)).toEqual([10, 20, 20, 30, 30]);
    const bad = lmwb(['runs', 'import', join(tmp.path, 'nowhere'), '-w', ws], tmp.path);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/is not a CS336 tracker run: it needs config\.json and metrics\.jsonl/);
  });
});

describe('queue state', () => {
  it('cancels and pauses queued runs at once, resumes them, refuses to change finished runs', async () => {
    const ws = join(tmp.path, 'queue');
    const a = createRun(ws, { config: cfg() }).id;
    const b = createRun(ws, { config: cfg(), status: { state: 'done' } }).id;
    expect(await requestStop(ws, a, 'pause')).toEqual({ state: 'paused', requested: false });
    expect((await requeue(ws, a)).state).toBe('queued');
    expect(await requestStop(ws, a, 'cancel')).toEqual({ state: 'cancelled', requested: false });
    expect(readStatus(join(ws, 'runs', a))?.ended).toBeDefined();
    expect((await requeue(ws, a)).state).toBe('queued');
    await expect(requestStop(ws, b, 'cancel')).rejects.toThrow(UserError);
    await expect(requeue(ws, b)).rejects.toMatchObject({ code: 'QUEUE_CONFLICT' });
    const r = lmwb(['queue', 'cancel', b, '-w', ws], tmp.path);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/is done; only queued, running or paused runs can be cancelled/);
  });

  it('takes over a running run whose worker and trainer died, never one whose trainer lives', async () => {
    const ws = join(tmp.path, 'takeover');
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    const deadPid = Number(dead.stdout);
    const me = { pid: process.pid, host: hostname(), worker: 'test' };
    const orphan = createRun(ws, { config: cfg({ name: 'orphan' }), status: { state: 'running', pid: deadPid, host: hostname() } });
    writeFileSync(join(orphan.dir, '.claim.json'), JSON.stringify({ pid: deadPid, host: hostname(), worker: 'gone', time: new Date().toISOString() }));
    const alive = createRun(ws, { config: cfg({ name: 'alive' }), status: { state: 'running', pid: process.pid, host: hostname() } });
    writeFileSync(join(alive.dir, '.claim.json'), JSON.stringify({ pid: deadPid, host: hostname(), worker: 'gone', time: new Date().toISOString() }));
    const c = await claimNext(ws, me);
    expect(c).toEqual({ id: orphan.id, dir: orphan.dir, takeover: true });
    expect(JSON.parse(readFileSync(join(orphan.dir, '.claim.json'), 'utf8')).worker).toBe('test');
    expect(await claimNext(ws, me)).toBeUndefined(); // the other run's trainer (this process) is alive
  });

  it('two worker processes racing for one queue never take the same run', async () => {
    const ws = join(tmp.path, 'race');
    const N = 24;
    const ids = Array.from({ length: N }, (_, i) => createRun(ws, { config: cfg({ name: `q${i}` }) }).id);
    const tsx = join(repoRoot, 'node_modules', '.bin', 'tsx');
    const script = join(repoRoot, 'test', 'runs', 'fixtures', 'claim-loop.ts');
    // Each racer says "ready", claims on "go", prints what it took, and holds its claims until its stdin closes.
    const racers = [0, 1].map(() => {
      const c = spawn(tsx, [script, ws], { stdio: ['pipe', 'pipe', 'inherit'] });
      let out = '';
      const lines: string[] = [];
      const waiters: Array<() => void> = [];
      c.stdout.setEncoding('utf8').on('data', (d: string) => {
        out += d;
        let nl: number;
        while ((nl = out.indexOf('\n')) >= 0) {
          lines.push(out.slice(0, nl));
          out = out.slice(nl + 1);
          waiters.splice(0).forEach((w) => w());
        }
      });
      const line = (n: number) => new Promise<string>((resolve, reject) => {
        const check = () => (lines.length > n ? resolve(lines[n]) : waiters.push(check));
        c.on('close', (code) => reject(new Error(`claim loop exited ${code}`)));
        check();
      });
      return { c, line };
    });
    for (const r of racers) expect(await r.line(0)).toBe('ready');
    for (const r of racers) r.c.stdin!.write('go\n');
    const [x, y] = (await Promise.all(racers.map((r) => r.line(1)))).map((l) => JSON.parse(l) as string[]);
    expect(x.filter((id) => y.includes(id))).toEqual([]);
    expect([...x, ...y].sort()).toEqual([...ids].sort());
    expect(x.length).toBeGreaterThan(0);
    expect(y.length).toBeGreaterThan(0);
    for (const id of ids) expect(readStatus(join(ws, 'runs', id))?.state).toBe('running');
    expect(JSON.parse(readFileSync(join(ws, 'runs', x[0], '.claim.json'), 'utf8')).worker).toMatch(/^race-\d+$/);
    for (const r of racers) r.c.stdin!.end();
  }, 120_000);
});
