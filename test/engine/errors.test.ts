// Bad input gets a clear UserError naming the problem and the fix, and nothing is written half-way.
import { describe, it, expect, afterAll } from 'vitest';
import { writeFileSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir, testGpu, repoRoot } from '../helpers';
import { parseRunConfig, applyOverrides, type RunConfigInput } from '../../src-main/engine/train/run-config';
import { parseModelConfig } from '../../src-main/engine/model/config';
import { train } from '../../src-main/engine/train/trainer';
import { TransformerRuntime } from '../../src-main/engine/model/transformer';
import { UserError } from '../../src-main/util/errors';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

const model = { vocab_size: 256, context_length: 16, d_model: 32, num_layers: 1, num_heads: 2, d_ff: 48 };

function cfg(extra: Record<string, unknown> = {}): RunConfigInput {
  const data = join(tmp.path, 'ok.bin');
  if (!existsSync(data)) writeFileSync(data, Uint16Array.from(readFileSync(join(repoRoot, 'resources', 'smoke', 'stories.txt')).subarray(0, 5000)));
  return {
    name: 'e', out_dir: join(tmp.path, 'run'), model, data: { train: data },
    training: { batch_size: 2, max_steps: 2, max_learning_rate: 1e-3 }, ...extra,
  } as RunConfigInput;
}

async function userError(p: Promise<unknown> | (() => unknown)): Promise<string> {
  try {
    if (typeof p === 'function') p();
    else await p;
  } catch (e) {
    expect(e).toBeInstanceOf(UserError);
    return (e as Error).message;
  }
  throw new Error('expected a UserError');
}

describe('bad input', () => {
  it('d_model not divisible by num_heads', async () => {
    const m = await userError(() => parseModelConfig({ ...model, num_heads: 3 }));
    expect(m).toMatch(/d_model \(32\) must be divisible by .*num_heads \(3\)/);
  });

  it('odd head dim with RoPE (and accepted with NoPE)', async () => {
    const m = await userError(() => parseModelConfig({ ...model, d_model: 30, num_heads: 2 }));
    expect(m).toMatch(/head dim .* must be even, but it is 15/);
    expect(parseModelConfig({ ...model, d_model: 30, num_heads: 2, pos: 'nope' }).d_model).toBe(30);
  });

  it('unknown keys and wrong types are named', async () => {
    expect(await userError(() => parseRunConfig({ ...cfg(), trainig: {} }))).toMatch(/trainig/);
    expect(await userError(() => parseRunConfig(applyOverrides(cfg() as Record<string, unknown>, ['training.batch_size=-4'])))).toMatch(/training\.batch_size/);
    expect(await userError(() => parseRunConfig(applyOverrides(cfg() as Record<string, unknown>, ['model.norm=layer'])))).toMatch(/model\.norm/);
    expect(await userError(() => applyOverrides({}, ['batch_size']))).toMatch(/key=value/);
  });

  it('a missing token file', async () => {
    const c = parseRunConfig({ ...cfg(), data: { train: join(tmp.path, 'nope.bin') } });
    expect(await userError(train(c))).toMatch(/training token file not found: .*nope\.bin/);
  });

  it('a token file with ids ≥ vocab_size, before anything is written', async () => {
    const bad = join(tmp.path, 'bad.bin');
    const ids = new Uint16Array(4000).fill(5);
    ids[2345] = 300;
    writeFileSync(bad, ids);
    const out = join(tmp.path, 'bad-run');
    const c = parseRunConfig({ ...cfg(), out_dir: out, data: { train: bad } });
    expect(await userError(train(c, { gpu: await testGpu() }))).toMatch(/has id 300 at position 2345.*vocab_size is 256/);
    expect(existsSync(out)).toBe(false);
  });

  it('a token file of odd size or too short', async () => {
    const odd = join(tmp.path, 'odd.bin');
    writeFileSync(odd, Buffer.alloc(101));
    expect(await userError(train(parseRunConfig({ ...cfg(), data: { train: odd } })))).toMatch(/odd size/);
    const short = join(tmp.path, 'short.bin');
    writeFileSync(short, Buffer.alloc(20));
    expect(await userError(train(parseRunConfig({ ...cfg(), data: { train: short } })))).toMatch(/fewer than one window/);
  });

  it('a batch that does not fit says what it needs and what there is', async () => {
    const gpu = await testGpu();
    // The CS336 model at batch 4096: one activation alone exceeds any binding limit of a CPU adapter.
    const big = parseModelConfig({ vocab_size: 10000, context_length: 256, d_model: 512, num_layers: 4, num_heads: 16, d_ff: 1344 });
    const m = await userError(() => new TransformerRuntime(gpu, big, { batchSize: 4096, seqLen: 256, training: true }));
    expect(m).toMatch(/batch does not fit: .* needs \d+ MiB .* at most \d+ MiB .*batch_size ≤ \d+/);
  });
});
