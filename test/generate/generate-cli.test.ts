// `lmwb generate` as a real process: a tiny model trained by `lmwb train` in this test generates from its run
// folder (streamed text, --json, samples.jsonl), the same seed gives the same text, the same weights saved as a
// PyTorch-style state dict (CS336 names, no metadata) with a config.json beside it give the same greedy ids, and
// bad input is one line with exit code 2.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot, tempDir } from '../helpers';
import { readSafetensors, writeSafetensors } from '../../src-main/engine/checkpoint/safetensors';

const tmp = tempDir('lmwb-generate-');
afterAll(() => tmp.cleanup());

function lmwb(args: string[]) {
  const r = spawnSync(process.execPath, [join(repoRoot, 'bin', 'lmwb.mjs'), ...args], { cwd: tmp.path, encoding: 'utf8', timeout: 300_000 });
  return { code: r.status, out: r.stdout, err: r.stderr.split('\n').filter((l) => !l.startsWith('Warning:')).join('\n') };
}

const jsonLines = (s: string) => s.trim().split('\n').map((l) => JSON.parse(l) as { sample: number; prompt_ids: number[]; ids: number[]; text: string; stop_reason: string; tokens_per_s: number });

describe('lmwb generate', () => {
  const run = () => join(tmp.path, 'runs', 'tiny');
  beforeAll(() => {
    const r = lmwb(['train', '--preset', 'smoke', '--set', 'training.max_steps=20', '--set', 'eval.interval=10', '--set', 'checkpoint.interval=10', '--set', 'checkpoint.keep_last=0', '--out', 'runs/tiny']);
    if (r.code !== 0) throw new Error(r.err);
  }, 300_000);

  it('streams a sample from a run folder and appends it to samples.jsonl', () => {
    const r = lmwb(['generate', '--checkpoint', 'runs/tiny', '--prompt', 'Once upon', '--max-new-tokens', '12', '--temperature', '0']);
    expect(r.code, r.err).toBe(0);
    expect(r.out.startsWith('Once upon')).toBe(true);
    expect(r.err).toMatch(/checkpoint .*step_0000020\.safetensors \(step 20\); tokenizer bytes/);
    expect(r.err).toMatch(/\(12 tokens, stop: max_tokens, \d+ tokens\/s\)/);
    const lines = readFileSync(join(run(), 'samples.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ checkpoint: 'step_0000020.safetensors', step: 20, prompt: 'Once upon', stop_reason: 'max_tokens', settings: { temperature: 0, top_p: 1, top_k: 0, seed: 0, max_new_tokens: 12 } });
    expect(r.out).toBe(`Once upon${lines[0].text}\n`);
  });

  it('--json prints one object per sample; the same seed gives the same samples', () => {
    const args = ['generate', '--checkpoint', 'runs/tiny', '--prompt', 'The dog', '--max-new-tokens', '16', '--temperature', '1', '--top-p', '0.9', '--top-k', '40', '--seed', '3', '--num-samples', '3', '--json', '--no-save'];
    const a = lmwb(args);
    expect(a.code, a.err).toBe(0);
    const sa = jsonLines(a.out);
    expect(sa.map((s) => s.sample)).toEqual([0, 1, 2]);
    for (const s of sa) {
      expect(s.prompt_ids).toEqual(Array.from(Buffer.from('The dog')));
      expect(s.ids).toHaveLength(16);
      expect(s.text).toBe(Buffer.from(s.ids).toString('utf8'));
      expect(s.stop_reason).toBe('max_tokens');
      expect(s.tokens_per_s).toBeGreaterThan(0);
    }
    expect(new Set(sa.map((s) => s.text)).size).toBeGreaterThan(1);
    const b = lmwb(args);
    expect(jsonLines(b.out).map((s) => s.ids)).toEqual(sa.map((s) => s.ids));
    const c = lmwb(args.map((x, i) => (args[i - 1] === '--seed' ? '4' : x)));
    expect(jsonLines(c.out).map((s) => s.ids)).not.toEqual(sa.map((s) => s.ids));
    expect(readFileSync(join(run(), 'samples.jsonl'), 'utf8').trim().split('\n')).toHaveLength(1); // --no-save
  });

  it('loads the same weights as a PyTorch state dict with a config.json (nested under "model") beside it', () => {
    const ck = readSafetensors(join(run(), 'checkpoints', 'step_0000020.safetensors'));
    const model = JSON.parse(ck.metadata.model_config) as Record<string, unknown>;
    const torchDir = join(tmp.path, 'torch');
    spawnSync('mkdir', ['-p', torchDir]);
    const tensors = [...ck.tensors].filter(([k]) => !k.startsWith('optimizer.'));
    writeSafetensors(join(torchDir, 'model.safetensors'), tensors);
    writeFileSync(join(torchDir, 'config.json'), JSON.stringify({ model: { ...model, batch_size: 8 }, optimizer: { lr: 1e-3 } }));
    const fromRun = lmwb(['generate', '--checkpoint', 'runs/tiny/checkpoints/step_0000010.safetensors', '--prompt', 'A', '--max-new-tokens', '10', '--temperature', '0', '--json', '--no-save']);
    const ours = lmwb(['generate', '--checkpoint', 'runs/tiny', '--prompt', 'A', '--max-new-tokens', '10', '--temperature', '0', '--json', '--no-save']);
    const torch = lmwb(['generate', '--checkpoint', 'torch/model.safetensors', '--tokenizer', 'bytes', '--prompt', 'A', '--max-new-tokens', '10', '--temperature', '0', '--json']);
    expect(torch.code, torch.err).toBe(0);
    expect(torch.err).toMatch(/PyTorch state dict/);
    expect(jsonLines(torch.out)[0].ids).toEqual(jsonLines(ours.out)[0].ids);
    expect(jsonLines(fromRun.out)[0].ids).toHaveLength(10);
    expect(existsSync(join(torchDir, 'samples.jsonl'))).toBe(false);

    // A config that does not match: the tensor and both shapes are named.
    writeFileSync(join(torchDir, 'bad.json'), JSON.stringify({ ...model, d_ff: 100 }));
    const bad = lmwb(['generate', '--checkpoint', 'torch/model.safetensors', '--config', 'torch/bad.json', '--tokenizer', 'bytes', '--prompt', 'A']);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/^lmwb: .*tensor layers\.0\.ffn\.w1\.weight has shape \[192,64\] but the model config needs \[100,64\]/m);
  });

  it('reports bad input on one line with exit code 2', () => {
    const cases: Array<[string[], RegExp]> = [
      [['--temperature', '-1'], /^lmwb: temperature must be a number ≥ 0/m],
      [['--top-p', '0'], /^lmwb: top-p must be in \(0, 1\]/m],
      [['--top-p', '1.2'], /^lmwb: top-p must be in \(0, 1\]/m],
      [['--max-new-tokens', 'many'], /^lmwb: --max-new-tokens must be an integer, got "many"/m],
      [['--checkpoint', 'nope'], /^lmwb: checkpoint not found: nope/m],
      [['--prompt', ''], /^lmwb: the prompt is empty and this tokenizer has no <\|endoftext\|>/m],
    ];
    for (const [extra, re] of cases) {
      const args = ['generate', '--checkpoint', 'runs/tiny', '--prompt', 'x', '--no-save'];
      for (let i = 0; i < extra.length; i += 2) {
        const at = args.indexOf(extra[i]);
        if (at >= 0) args[at + 1] = extra[i + 1];
        else args.push(extra[i], extra[i + 1]);
      }
      const r = lmwb(args);
      expect(r.code, `${extra.join(' ')}: ${r.err}`).toBe(2);
      expect(r.err).toMatch(re);
      expect(r.err).not.toMatch(/\n\s+at /);
    }
  });
});
