// The real `lmwb` process: the README's main command (a short smoke run), config files with --set, resume,
// and bad input reported on one line without a stack trace.
import { describe, it, expect, afterAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync, readFileSync, rmSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot, tempDir } from '../helpers';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

function lmwb(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [join(repoRoot, 'bin', 'lmwb.mjs'), ...args], {
    cwd: tmp.path, encoding: 'utf8', env: { ...process.env, ...env }, timeout: 300_000,
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('lmwb train', () => {
  it('runs the smoke preset with overrides, prints progress lines, writes metrics and checkpoints', () => {
    const r = lmwb(['train', '--preset', 'smoke', '--set', 'training.max_steps=20', '--set', 'eval.interval=10', '--out', 'runs/smoke-test']);
    expect(r.code, r.err).toBe(0);
    expect(r.err).toMatch(/step 10\/20 \| loss \d+\.\d+ \| lr \d\.\d+e-\d+ \| [\d.]+k? tok\/s \| grad norm [\d.]+ \| ETA/);
    expect(r.err).toMatch(/eval {2}step 10: val loss \d/);
    expect(r.out).toMatch(/done: step 20, train loss \d+\.\d+, val loss \d+\.\d+/);
    const run = join(tmp.path, 'runs', 'smoke-test');
    expect(existsSync(join(run, 'metrics.jsonl'))).toBe(true);
    expect(existsSync(join(run, 'checkpoints', 'step_0000020.safetensors'))).toBe(true);
    // resume the finished run with more steps from its newest checkpoint
    const r2 = lmwb(['train', '--preset', 'smoke', '--set', 'training.max_steps=24', '--set', 'training.cosine_cycle_iters=20', '--out', 'runs/smoke-test', '--resume', 'runs/smoke-test']);
    expect(r2.code, r2.err).toBe(0);
    expect(r2.err).toMatch(/resuming at step 20/);
    expect(r2.out).toMatch(/done: step 24/);
  });

  it('trains from a config file (its LM head in logits chunks of the size it asks for)', () => {
    const data = join(tmp.path, 'tok.bin');
    writeFileSync(data, Uint16Array.from(readFileSync(join(repoRoot, 'resources', 'smoke', 'stories.txt')).subarray(0, 20000)));
    writeFileSync(join(tmp.path, 'run.json'), JSON.stringify({
      name: 'cfg', model: { vocab_size: 256, context_length: 16, d_model: 32, num_layers: 1, num_heads: 2, d_ff: 48 },
      data: { train: data }, training: { batch_size: 2, max_steps: 4, max_learning_rate: 1e-3, logits_chunk_mb: 0.008 }, log: { interval: 2 },
    }));
    const r = lmwb(['train', '--config', 'run.json']);
    expect(r.code, r.err).toBe(0);
    // 0.008 MiB of f32 logits over a vocabulary of 256: 8 rows at a time, 4 chunks for the 32 rows of a batch.
    expect(r.err).toMatch(/LM head in 4 chunks of 8 rows/);
    // Without out_dir the run folder is <workspace>/runs/<name>-<yyyymmdd-HHMMSS> (the workspace: the current folder).
    const id = readdirSync(join(tmp.path, 'runs')).find((d) => /^cfg-\d{8}-\d{6}$/.test(d));
    expect(id).toBeDefined();
    expect(existsSync(join(tmp.path, 'runs', id!, 'checkpoints', 'step_0000004.safetensors'))).toBe(true);
    expect(JSON.parse(readFileSync(join(tmp.path, 'runs', id!, 'status.json'), 'utf8')).state).toBe('done');
  });

  it('--overfit-one-batch trains on one fixed batch: the loss goes near zero', () => {
    const data = join(tmp.path, 'tok.bin');
    writeFileSync(data, Uint16Array.from(readFileSync(join(repoRoot, 'resources', 'smoke', 'stories.txt')).subarray(0, 20000)));
    writeFileSync(join(tmp.path, 'overfit.json'), JSON.stringify({
      name: 'overfit', model: { vocab_size: 256, context_length: 16, d_model: 64, num_layers: 2, num_heads: 4, d_ff: 128 },
      data: { train: data }, training: { batch_size: 2, max_steps: 100, max_learning_rate: 1e-2, warmup_iters: 10, weight_decay: 0 }, log: { interval: 10 },
    }));
    const r = lmwb(['train', '--config', 'overfit.json', '--overfit-one-batch', '--out', 'runs/overfit']);
    expect(r.code, r.err).toBe(0);
    const loss = Number(/done: step 100, train loss (\d+\.\d+)/.exec(r.out)?.[1]);
    expect(loss).toBeLessThan(0.1);
    expect(JSON.parse(readFileSync(join(tmp.path, 'runs', 'overfit', 'config.json'), 'utf8')).training.overfit_one_batch).toBe(true);
  });

  it('reports bad input in one line, without a stack trace', () => {
    writeFileSync(join(tmp.path, 'bad.json'), JSON.stringify({
      model: { vocab_size: 256, context_length: 16, d_model: 32, num_layers: 1, num_heads: 3, d_ff: 48 },
      data: { train: 'x.bin' }, training: { batch_size: 2, max_steps: 4, max_learning_rate: 1e-3 },
    }));
    const r = lmwb(['train', '--config', 'bad.json']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^lmwb: invalid config: model\.d_model \(32\) must be divisible by model\.num_heads \(3\)/m);
    expect(r.err).not.toMatch(/\n\s+at /);
    const r2 = lmwb(['train', '--config', 'missing.json']);
    expect(r2.code).toBe(2);
    expect(r2.err).toMatch(/lmwb: config file not found: missing\.json/);
  });

  it('names the missing Vulkan driver when there is no adapter', () => {
    const r = lmwb(['train', '--preset', 'smoke', '--out', 'runs/nodrv'], { VK_DRIVER_FILES: '/nonexistent.json', VK_ICD_FILENAMES: '/nonexistent.json' });
    expect(r.code).toBe(3);
    expect(r.err).toMatch(/lmwb: no WebGPU adapter: Dawn found no usable Vulkan driver\. .*mesa-vulkan-drivers/);
    expect(r.err).not.toMatch(/\n\s+at .*\.ts/);
  });
});

describe('bundled CLI (for machines without npm)', () => {
  it('bundles into one file that trains with only webgpu beside it', () => {
    // Inside the checkout (dist/ is git-ignored) so that `webgpu` resolves from node_modules and kernels/ is found
    // upward from the bundle, as on a server where the bundle sits beside them.
    const out = join(repoRoot, 'dist', `test-${process.pid}`);
    const b = spawnSync(process.execPath, [join(repoRoot, 'node_modules', 'tsx', 'dist', 'cli.mjs'), join(repoRoot, 'scripts', 'bundle.ts'), '--outdir', out, 'lmwb'], { cwd: repoRoot, encoding: 'utf8' });
    expect(b.status, b.stderr).toBe(0);
    const data = join(tmp.path, 'btok.bin');
    writeFileSync(data, Uint16Array.from(readFileSync(join(repoRoot, 'resources', 'smoke', 'stories.txt')).subarray(0, 20000)));
    writeFileSync(join(tmp.path, 'bundle-run.json'), JSON.stringify({
      name: 'bundled', out_dir: join(tmp.path, 'runs', 'bundled'), model: { vocab_size: 256, context_length: 16, d_model: 32, num_layers: 1, num_heads: 2, d_ff: 48 },
      data: { train: data, valid: data }, training: { batch_size: 2, max_steps: 4, max_learning_rate: 1e-3 }, log: { interval: 2 },
    }));
    const r = spawnSync(process.execPath, [join(out, 'lmwb.mjs'), 'train', '--config', join(tmp.path, 'bundle-run.json')], {
      cwd: tmp.path, encoding: 'utf8', timeout: 120_000,
    });
    rmSync(out, { recursive: true, force: true });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/done: step 4/);
  });
});
