// Trainer features on real token files with tiny models: overfitting one batch, the time budget (schedule on
// elapsed time, whole-file final eval), checkpoints by minutes, the diag records (checked against the
// checkpoint's weights and the step's gradient norm), the divergence rule, and an aborted signal (paused).
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir, testGpu, repoRoot } from '../helpers';
import { parseRunConfig, type RunConfigInput } from '../../src-main/engine/train/run-config';
import { train } from '../../src-main/engine/train/trainer';
import { loadCheckpoint } from '../../src-main/engine/checkpoint/checkpoint';
import { layoutParameters, parameterSpecs } from '../../src-main/engine/model/parameters';
import { groupNorms, parameterGroup } from '../../src-main/engine/train/diag';
import { DivergenceMonitor } from '../../src-main/engine/train/divergence';
import { learningRate } from '../../src-main/engine/optim/schedule';
import { readMetrics, readStatus } from '../../src-main/runs/read';
import type { DiagRecord, EvalRecord, TrainRecord } from '../../src-main/runs/format';
import type { TrainEvent } from '../../src-main/engine/train/events';

const tmp = tempDir();
let trainFile = '';
let validFile = '';

beforeAll(() => {
  const text = readFileSync(join(repoRoot, 'resources', 'smoke', 'stories.txt'));
  trainFile = join(tmp.path, 'train.bin');
  validFile = join(tmp.path, 'valid.bin');
  writeFileSync(trainFile, Uint16Array.from(text.subarray(0, 100_000)));
  writeFileSync(validFile, Uint16Array.from(text.subarray(100_000, 110_000)));
});
afterAll(() => tmp.cleanup());

function config(out: string, training: Record<string, unknown> = {}, extra: Record<string, unknown> = {}): RunConfigInput {
  return {
    name: 'f',
    out_dir: join(tmp.path, out),
    model: { vocab_size: 256, context_length: 16, d_model: 32, num_layers: 2, num_heads: 2, d_ff: 48 },
    data: { train: trainFile, valid: validFile },
    training: { batch_size: 2, max_steps: 20, seed: 5, max_learning_rate: 3e-3, warmup_iters: 2, ...training },
    eval: { interval: 0, batches: 2 },
    checkpoint: { interval: 0, keep_last: 0 },
    log: { interval: 5, diag_interval: 0 },
    ...extra,
  } as RunConfigInput;
}

const trainRecs = (dir: string) => readMetrics(dir).records.filter((r): r is TrainRecord => r.kind === 'train');

describe('trainer features', () => {
  it('overfit-one-batch drives the loss of a tiny model near zero', async () => {
    const gpu = await testGpu();
    const cfg = parseRunConfig(config('overfit', { overfit_one_batch: true, max_steps: 100, max_learning_rate: 1e-2, min_learning_rate: 1e-3, warmup_iters: 10, weight_decay: 0 }, { model: { vocab_size: 256, context_length: 16, d_model: 64, num_layers: 2, num_heads: 4, d_ff: 128 }, log: { interval: 1, diag_interval: 0 } }));
    const r = await train(cfg, { gpu });
    const tr = trainRecs(r.runDir);
    expect(tr[0].loss).toBeGreaterThan(4); // ~ln 256 at the start
    expect(tr.length).toBe(100);
    expect(r.finalLoss).toBeLessThan(0.1);
    // The same config on the real batch stream stays far from zero: the fixed batch is what was learned.
    const normal = await train(parseRunConfig(config('not-overfit', { max_steps: 100, max_learning_rate: 1e-2, min_learning_rate: 1e-3, warmup_iters: 10, weight_decay: 0 }, { model: cfg.model, log: { interval: 25, diag_interval: 0 } })), { gpu });
    expect(normal.finalLoss).toBeGreaterThan(1);
  });

  it('time budget: stops at the budget, runs the schedule on elapsed time, evaluates the whole validation file', async () => {
    const gpu = await testGpu();
    const budget = 3;
    const steps = 100_000;
    const cfg = parseRunConfig(config('budget', { max_steps: steps, time_budget_s: budget, warmup_iters: 10, min_learning_rate: 3e-4 }));
    const r = await train(cfg, { gpu });
    expect(r.state).toBe('done');
    expect(r.finalStep).toBeLessThan(steps);
    const tr = trainRecs(r.runDir);
    const last = tr[tr.length - 1];
    expect(last.step).toBe(r.finalStep); // the step that spent the budget is logged
    expect(last.elapsed_s).toBeLessThan(budget + 1);
    expect(last.elapsed_s).toBeGreaterThan(budget * 0.5);
    // lr of each logged step: the schedule at elapsed/budget × steps, with the elapsed time measured just before that
    // step (so between the previous record's elapsed and this one's).
    for (let i = 1; i < tr.length; i++) {
      const hi = learningRate(Math.min(1, tr[i].elapsed_s / budget) * steps, cfg.schedule);
      const lo = learningRate(Math.min(1, tr[i - 1].elapsed_s / budget) * steps, cfg.schedule);
      expect(tr[i].lr).toBeGreaterThanOrEqual(Math.min(lo, hi) * (1 - 1e-9));
      expect(tr[i].lr).toBeLessThanOrEqual(Math.max(lo, hi) * (1 + 1e-9));
    }
    // By the end of the budget the schedule has decayed to about its minimum; by step fraction (a few hundred or
    // thousand of 100,000 steps, past the 10 warmup steps) it would still be at its peak.
    expect(last.lr).toBeLessThan(cfg.schedule.min_learning_rate * 1.2);
    expect(learningRate(r.finalStep, cfg.schedule)).toBeGreaterThan(cfg.schedule.max_learning_rate * 0.5);
    const ev = readMetrics(r.runDir).records.filter((x): x is EvalRecord => x.kind === 'eval');
    expect(ev.length).toBe(1);
    expect(ev[0].val_tokens).toBe(Math.floor((10_000 - 1) / 16) * 16); // every window of the file, not eval.batches
  });

  it('checkpoint.every_minutes saves by training time, between step intervals', async () => {
    const gpu = await testGpu();
    const r = await train(parseRunConfig(config('minutes', { max_steps: 150 }, { checkpoint: { interval: 0, keep_last: 0, every_minutes: 0.3 / 60 } })), { gpu });
    const ck = readdirSync(join(r.runDir, 'checkpoints')).filter((f) => f.startsWith('step_'));
    expect(ck.length).toBeGreaterThan(2); // the final one plus the ones the clock triggered
  });

  it('diag records: residual RMS per layer, weight norms equal to the checkpoint\'s, grad norms summing to the step\'s norm', async () => {
    const gpu = await testGpu();
    const r = await train(parseRunConfig(config('diag', { max_steps: 20, max_grad_norm: 0 }, { log: { interval: 10, diag_interval: 10 }, checkpoint: { interval: 10, keep_last: 0 } })), { gpu });
    const recs = readMetrics(r.runDir).records;
    const diags = recs.filter((x): x is DiagRecord => x.kind === 'diag');
    expect(diags.map((d) => d.step)).toEqual([10, 20]);
    const groups = ['token_embeddings', 'layers.0.attn', 'layers.0.norms', 'layers.0.ffn', 'layers.1.attn', 'layers.1.norms', 'layers.1.ffn', 'ln_final', 'lm_head'];
    for (const d of diags) {
      expect(d.residual_rms.length).toBe(3);
      for (const x of d.residual_rms) expect(x).toBeGreaterThan(0);
      expect(Object.keys(d.weight_norm).sort()).toEqual([...groups].sort());
      expect(Object.keys(d.grad_norm).sort()).toEqual([...groups].sort());
      // Weight norms: the same numbers from the checkpoint of that step, computed here on the host.
      const ck = loadCheckpoint(join(r.runDir, 'checkpoints', `step_${String(d.step).padStart(7, '0')}.safetensors`), (m) => layoutParameters(parameterSpecs(m)));
      const expected = groupNorms(ck.layout, ck.params);
      for (const g of groups) expect(d.weight_norm[g]).toBeCloseTo(expected[g], 10);
      // Gradient norms: the groups' norms combine into the global (pre-clip) norm the GPU computed for the step.
      const tr = recs.find((x): x is TrainRecord => x.kind === 'train' && x.step === d.step)!;
      const total = Math.sqrt(Object.values(d.grad_norm).reduce<number>((a, x) => a + (x ?? NaN) ** 2, 0));
      expect(total).toBeCloseTo(tr.grad_norm!, 4);
    }
    expect(parameterGroup('layers.3.ln2.weight')).toBe('layers.3.norms');
    expect(parameterGroup('layers.12.ffn.w3.weight')).toBe('layers.12.ffn');
  });

  it('divergence rule: NaN at once; factor × running minimum for patience logged steps', () => {
    const m = new DivergenceMonitor({ enabled: true, factor: 2, patience: 3 });
    expect(m.observe(10, 5, 1e-3)).toBeUndefined();
    expect(m.observe(20, 2, 1e-3)).toBeUndefined();
    expect(m.observe(30, 4.5, 1e-3)).toBeUndefined(); // above 2 × 2, once
    expect(m.observe(40, 3.9, 1e-3)).toBeUndefined(); // back under: the count restarts
    expect(m.observe(50, 4.1, 1e-3)).toBeUndefined();
    expect(m.observe(60, 4.2, 1e-3)).toBeUndefined();
    expect(m.observe(70, 9, 1e-3)?.reason).toBe('above-minimum');
    expect(new DivergenceMonitor({ enabled: false, factor: 2, patience: 1 }).observe(1, NaN, 1)?.reason).toBe('non-finite');
    expect(new DivergenceMonitor({ enabled: false, factor: 2, patience: 1 }).observe(1, 1e9, 1)).toBeUndefined();
  });

  it('an aborted signal finishes the step, saves a checkpoint and ends paused; train() resumes it', async () => {
    const gpu = await testGpu();
    const ac = new AbortController();
    const events: TrainEvent[] = [];
    const cfg = parseRunConfig(config('abort', { max_steps: 40 }));
    const r = await train(cfg, {
      gpu, signal: ac.signal,
      onEvent: (e) => {
        events.push(e);
        if (e.type === 'log' && e.record.step === 15) ac.abort();
      },
    });
    expect(r.state).toBe('paused');
    expect(r.finalStep).toBe(15); // the step under way when the signal fired is finished, no further one starts
    expect(readdirSync(join(r.runDir, 'checkpoints'))).toEqual(['step_0000015.safetensors']);
    expect(readStatus(r.runDir)?.state).toBe('paused');
    expect(events[events.length - 1]).toMatchObject({ type: 'done', state: 'paused', final_step: 15 });
    const r2 = await train(cfg, { gpu });
    expect(r2.state).toBe('done');
    expect(trainRecs(r2.runDir).map((x) => x.step)).toEqual([5, 10, 15, 20, 25, 30, 35, 40]);
  });
});
