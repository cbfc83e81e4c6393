// Loading for generation, on real files: the newest or best-val checkpoint of a run folder, the run config from
// config.json or today's run.json, the tokenizer of the run's dataset (byte level, or the tokenizer/ folder checked
// by hash), and PyTorch state dicts (config flat or under "model", _orig_mod. prefix, f16 tensors, shape checks).
import { describe, it, expect, afterAll } from 'vitest';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers';
import { writeSafetensors, f32Tensor, type StTensor } from '../../src-main/engine/checkpoint/safetensors';
import { parseModelConfig } from '../../src-main/engine/model/config';
import { parameterSpecs } from '../../src-main/engine/model/parameters';
import { resolveGenerationCheckpoint, loadGenerationModel, runTokenizer, readRunConfig } from '../../src-main/engine/generate/load';
import { trainFromText } from '../../src-main/tokenizer/train';
import { saveTokenizer } from '../../src-main/tokenizer/files';

const tmp = tempDir('lmwb-genload-');
afterAll(() => tmp.cleanup());

const model = { vocab_size: 300, context_length: 8, d_model: 8, num_layers: 1, num_heads: 2, d_ff: 12 };

function stateDict(over: Record<string, unknown> = {}, prefix = '', f16 = false): Array<[string, StTensor]> {
  const cfg = parseModelConfig({ ...model, ...over });
  return parameterSpecs(cfg).map((s, i) => {
    const n = s.shape.reduce((a, b) => a * b, 1);
    const v = Float32Array.from({ length: n }, (_, j) => (i + 1) * 0.5 + j / 64);
    if (!f16) return [prefix + s.name, f32Tensor(s.shape, v)];
    // values exactly representable in f16 (multiples of 1/64 below 2048)
    const h = new Uint16Array(n);
    for (let j = 0; j < n; j++) {
      const x = v[j];
      const e = Math.floor(Math.log2(x));
      h[j] = ((e + 15) << 10) | Math.round((x / 2 ** e - 1) * 1024);
    }
    return [prefix + s.name, { dtype: 'F16', shape: s.shape, data: new Uint8Array(h.buffer) }];
  });
}

describe('generation loading', () => {
  it('picks the newest or the best-validation checkpoint of a run folder', () => {
    const run = join(tmp.path, 'runs', 'a');
    mkdirSync(join(run, 'checkpoints'), { recursive: true });
    for (const s of [100, 200, 300]) writeFileSync(join(run, 'checkpoints', `step_${String(s).padStart(7, '0')}.safetensors`), 'x');
    const ev = (step: number, val: number) => JSON.stringify({ kind: 'eval', step, val_loss: val, val_tokens: 10, tokens: step * 10, elapsed_s: step, time: '2026-01-01T00:00:00Z' });
    writeFileSync(join(run, 'metrics.jsonl'), [ev(100, 3), ev(150, 1), ev(200, 2.5), ev(300, 2.7)].join('\n') + '\n');
    expect(resolveGenerationCheckpoint(run).file).toMatch(/step_0000300/);
    const best = resolveGenerationCheckpoint(run, 'best');
    expect(best.file).toMatch(/step_0000200/); // step 150 has the lowest loss but no checkpoint
    expect(best.note).toMatch(/best validation loss 2\.5000 at step 200/);
    expect(resolveGenerationCheckpoint(join(run, 'checkpoints', 'step_0000100.safetensors')).runDir).toBe(run);
    expect(() => resolveGenerationCheckpoint(join(tmp.path, 'nothing'))).toThrow(/checkpoint not found/);
  });

  it('finds the run tokenizer: byte level, or the dataset tokenizer checked by hash; config.json or run.json', () => {
    const ds = join(tmp.path, 'ds');
    mkdirSync(ds, { recursive: true });
    const { tokenizer } = trainFromText('the cat sat on the mat. the dog sat on the log.<|endoftext|>'.repeat(20), { vocabSize: 270, specials: ['<|endoftext|>'] });
    saveTokenizer(tokenizer, join(ds, 'tokenizer'));
    writeFileSync(join(ds, 'train.bin'), '');
    writeFileSync(join(ds, 'train.bin.json'), JSON.stringify({ tokenizer_hash: tokenizer.hash(), vocab_size: 270 }));
    const runA = join(tmp.path, 'runs', 'bpe');
    mkdirSync(runA, { recursive: true });
    writeFileSync(join(runA, 'run.json'), JSON.stringify({ config: { model, data: { train: join(ds, 'train.bin') } } }));
    expect(readRunConfig(runA)).toMatchObject({ model });
    const t = runTokenizer(runA);
    expect(t.tokenizer.hash()).toBe(tokenizer.hash());
    expect(t.tokenizer.decode(t.tokenizer.encode('the cat<|endoftext|>'))).toBe('the cat<|endoftext|>');
    writeFileSync(join(ds, 'train.bin.json'), JSON.stringify({ tokenizer_hash: 'f'.repeat(64) }));
    expect(() => runTokenizer(runA)).toThrow(/is not the one .* was encoded with/);

    const runB = join(tmp.path, 'runs', 'bytes');
    mkdirSync(runB, { recursive: true });
    writeFileSync(join(tmp.path, 'b.bin'), '');
    writeFileSync(join(tmp.path, 'b.bin.json'), JSON.stringify({ dtype: 'uint16', vocab_size: 256, tokenizer: 'bytes' }));
    writeFileSync(join(runB, 'config.json'), JSON.stringify({ model, data: { train: join(tmp.path, 'b.bin') } }));
    const b = runTokenizer(runB);
    expect(b.tokenizer.vocabSize).toBe(256);
    expect(Array.from(b.tokenizer.encode('hé'))).toEqual([0x68, 0xc3, 0xa9]);
  });

  it('loads PyTorch state dicts with the config beside them, checking every tensor', () => {
    const dir = join(tmp.path, 'torch');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, 'model.safetensors');
    writeSafetensors(file, stateDict({}, '_orig_mod.', true));
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ model: { ...model, dropout: 0 }, training: { lr: 1 } }));
    const m = loadGenerationModel(file);
    expect(m.format).toBe('pytorch');
    expect(m.cfg).toMatchObject(model);
    const w = m.weights('layers.0.ffn.w2.weight');
    expect(w.length).toBe(8 * 12);
    const spec = parameterSpecs(m.cfg);
    const i = spec.findIndex((s) => s.name === 'layers.0.ffn.w2.weight');
    expect(w[3]).toBe((i + 1) * 0.5 + 3 / 64);

    // flat config given directly; a wrong d_ff names the tensor and both shapes
    expect(() => loadGenerationModel(file, { config: { ...model, d_ff: 16 } })).toThrow(/tensor layers\.0\.ffn\.w1\.weight has shape \[12,8\] but the model config needs \[16,8\]/);
    // more layers in the file than in the config
    writeSafetensors(join(dir, 'two.safetensors'), stateDict({ num_layers: 2 }));
    expect(() => loadGenerationModel(join(dir, 'two.safetensors'), { config: model })).toThrow(/has 2 layers but the model config says num_layers 1/);
    // a tied model saved without lm_head
    writeSafetensors(join(dir, 'tied.safetensors'), stateDict({ tie_embeddings: true }));
    expect(() => loadGenerationModel(join(dir, 'tied.safetensors'), { config: model })).toThrow(/lacks tensor lm_head\.weight .*set tie_embeddings: true/);
    expect(loadGenerationModel(join(dir, 'tied.safetensors'), { config: { ...model, tie_embeddings: true } }).cfg.tie_embeddings).toBe(true);
    // no config at all
    const lone = join(tmp.path, 'lone.safetensors');
    writeSafetensors(lone, stateDict());
    expect(() => loadGenerationModel(lone)).toThrow(/its model config is needed: put a config\.json/);
  });
});
