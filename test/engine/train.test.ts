// The training loop end to end on real token files: determinism, exact resume from a checkpoint, metrics,
// evaluation, and checkpoints that carry CS336 names and the optimizer state.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { readFileSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir, testGpu, repoRoot } from '../helpers';
import { parseRunConfig, type RunConfigInput } from '../../src-main/engine/train/run-config';
import { train } from '../../src-main/engine/train/trainer';
import { readSafetensors } from '../../src-main/engine/checkpoint/safetensors';
import { MetricsLog } from '../../src-main/engine/train/metrics-log';

const tmp = tempDir();
let trainFile = '';
let validFile = '';

beforeAll(() => {
  const text = readFileSync(join(repoRoot, 'resources', 'smoke', 'stories.txt'));
  trainFile = join(tmp.path, 'train.bin');
  validFile = join(tmp.path, 'valid.bin');
  writeFileSync(trainFile, Uint16Array.from(text.subarray(0, 200_000)));
  writeFileSync(validFile, Uint16Array.from(text.subarray(200_000, 230_000)));
});
afterAll(() => tmp.cleanup());

function config(outDir: string, extra: Partial<RunConfigInput> = {}): RunConfigInput {
  return {
    name: 't',
    out_dir: outDir,
    model: { vocab_size: 256, context_length: 24, d_model: 32, num_layers: 2, num_heads: 2, d_ff: 48 },
    data: { train: trainFile, valid: validFile },
    training: { batch_size: 4, max_steps: 12, seed: 7, max_learning_rate: 3e-3, min_learning_rate: 3e-4, warmup_iters: 3 },
    eval: { interval: 6, batches: 2 },
    checkpoint: { interval: 6, keep_last: 0 },
    log: { interval: 2 },
    ...extra,
  };
}

describe('training loop', () => {
  it('trains, logs, evaluates and checkpoints; resuming from a checkpoint reproduces the run bit for bit', async () => {
    const gpu = await testGpu();
    const a = join(tmp.path, 'a');
    const ra = await train(parseRunConfig(config(a)), { gpu });
    expect(ra.finalStep).toBe(12);
    expect(ra.interrupted).toBe(false);
    const ckpts = readdirSync(join(a, 'checkpoints')).sort();
    expect(ckpts).toEqual(['step_0000006.safetensors', 'step_0000012.safetensors']);

    const log = MetricsLog.read(join(a, 'metrics.jsonl'));
    const trainRecs = log.filter((r) => r.kind === 'train');
    const evalRecs = log.filter((r) => r.kind === 'eval');
    expect(trainRecs.map((r) => r.step)).toEqual([2, 4, 6, 8, 10, 12]);
    expect(evalRecs.map((r) => r.step)).toEqual([6, 12]);
    expect(trainRecs[trainRecs.length - 1].loss).toBeLessThan(trainRecs[0].loss!);
    for (const r of trainRecs) expect(Number.isFinite(r.loss) && r.tokens_per_s > 0).toBe(true);

    // Resume a second run folder from step 6 of the first: the same remaining steps must give identical bits.
    const b = join(tmp.path, 'b');
    const rb = await train(parseRunConfig(config(b)), { gpu, resume: join(a, 'checkpoints', 'step_0000006.safetensors') });
    expect(rb.finalStep).toBe(12);
    const fa = readSafetensors(join(a, 'checkpoints', 'step_0000012.safetensors'));
    const fb = readSafetensors(join(b, 'checkpoints', 'step_0000012.safetensors'));
    expect([...fb.tensors.keys()]).toEqual([...fa.tensors.keys()]);
    for (const [name, t] of fa.tensors) {
      expect(Buffer.compare(Buffer.from(t.data), Buffer.from(fb.tensors.get(name)!.data)), name).toBe(0);
    }
    const lb = MetricsLog.read(join(b, 'metrics.jsonl')).filter((r) => r.kind === 'train');
    expect(lb.map((r) => r.loss)).toEqual(trainRecs.filter((r) => r.step > 6).map((r) => r.loss));
  });

  it('writes checkpoints with the CS336 tensor names, optimizer moments and metadata', async () => {
    const gpu = await testGpu();
    const out = join(tmp.path, 'names');
    await train(parseRunConfig(config(out, { training: { batch_size: 2, max_steps: 2, seed: 1, max_learning_rate: 1e-3 } })), { gpu });
    const st = readSafetensors(join(out, 'checkpoints', 'step_0000002.safetensors'));
    const names = [...st.tensors.keys()];
    expect(names).toContain('token_embeddings.weight');
    expect(names).toContain('layers.1.attn.output_proj.weight');
    expect(names).toContain('layers.0.ffn.w3.weight');
    expect(names).toContain('ln_final.weight');
    expect(names).toContain('lm_head.weight');
    expect(names).toContain('optimizer.exp_avg.lm_head.weight');
    expect(names).toContain('optimizer.exp_avg_sq.layers.0.ln1.weight');
    expect(st.tensors.get('layers.0.ffn.w1.weight')!.shape).toEqual([48, 32]);
    expect(st.metadata.step).toBe('2');
    expect(JSON.parse(st.metadata.rng)).toEqual({ seed: 1, next_step: 2 });
    expect(JSON.parse(st.metadata.model_config).d_model).toBe(32);
    expect(existsSync(join(out, 'config.json'))).toBe(true);
  });

  it('trains every ablation variant', async () => {
    const gpu = await testGpu();
    const variants: Array<Record<string, unknown>> = [{ norm: 'post' }, { norm: 'none' }, { pos: 'nope' }, { ffn: 'silu', d_ff: 64 }, { tie_embeddings: true }];
    for (const v of variants) {
      const out = join(tmp.path, `v-${Object.values(v).join('-')}`);
      const base = config(out);
      const r = await train(parseRunConfig({ ...base, model: { ...base.model, ...v }, training: { ...base.training, max_steps: 8 }, eval: { interval: 0, batches: 1 } }), { gpu });
      const recs = MetricsLog.read(join(out, 'metrics.jsonl')).filter((x) => x.kind === 'train');
      expect(r.finalStep, JSON.stringify(v)).toBe(8);
      expect(recs[recs.length - 1].loss, JSON.stringify(v)).toBeLessThan(recs[0].loss!);
    }
  });

  it('evaluates the whole validation file when eval.batches is "all"', async () => {
    const gpu = await testGpu();
    const out = join(tmp.path, 'all');
    const r = await train(parseRunConfig(config(out, { eval: { interval: 0, batches: 'all' }, training: { batch_size: 4, max_steps: 1, seed: 1, max_learning_rate: 1e-3 } })), { gpu });
    const ev = MetricsLog.read(join(out, 'metrics.jsonl')).filter((x) => x.kind === 'eval');
    expect(ev.length).toBe(1);
    // 30,000 validation tokens, windows of 24 (+1 target): every full window counted once.
    expect(ev[0].kind === 'eval' && ev[0].val_tokens).toBe(Math.floor((30_000 - 1) / 24) * 24);
    expect(r.finalValLoss).toBeGreaterThan(0);
  });
});
