// The Generator end to end on the GPU: greedy and sampled continuations equal those of a full forward pass per
// step (the training runtime's evaluate with captureLogits over the current window) for every model variant,
// across window slides; several samples decode as one batch; UTF-8 characters split across byte tokens are held
// back until complete; <|endoftext|> stops; empty and over-long prompts; mismatches are coded errors.
import { describe, it, expect, beforeAll } from 'vitest';
import { testGpu } from '../helpers';
import type { Gpu } from '../../src-main/engine/gpu/device';
import { parseModelConfig, type ModelConfig } from '../../src-main/engine/model/config';
import { initParameters, layoutParameters, parameterSpecs, type ParamLayout } from '../../src-main/engine/model/parameters';
import { ForwardRuntime } from '../../src-main/engine/model/transformer';
import { Generator, type GenerateEvent } from '../../src-main/engine/generate/generate';
import { Sampler, samplingDistribution } from '../../src-main/engine/generate/sampler';
import { byteTokenizer } from '../../src-main/engine/generate/load';
import { Tokenizer } from '../../src-main/tokenizer/tokenizer';
import { UserError } from '../../src-main/util/errors';
import { VARIANTS } from './variants';

const base = { vocab_size: 256, context_length: 16, d_model: 32, num_layers: 2, num_heads: 2, d_ff: 48 };

function weightsOf(layout: ParamLayout, flat: Float32Array) {
  return (n: string) => { const s = layout.byName.get(n)!; return flat.subarray(s.offset, s.offset + s.numel); };
}

/** Continuation by a full forward pass per step over the window the decoder sees (keep tokens after a slide). */
async function reference(gpu: Gpu, cfg: ModelConfig, flat: Float32Array, prompt: number[], n: number, keep: number, pick: (row: Float32Array) => number): Promise<number[]> {
  const T = cfg.context_length;
  const V = cfg.vocab_size;
  const rt = new ForwardRuntime(gpu, cfg, { batchSize: 1, seqLen: T, captureLogits: true, logitsChunkBytes: 1 << 16 });
  rt.setParameters(flat);
  const hist = [...prompt];
  let start = 0;
  const out: number[] = [];
  try {
    for (let i = 0; i < n; i++) {
      if (hist.length - start > T) start = hist.length - keep;
      const win = hist.slice(start);
      const ids = new Uint32Array(T);
      ids.set(win); // causal: the rows past the window do not change row win.length − 1
      rt.setBatch(ids, ids);
      rt.evaluate();
      const logits = await rt.readLogits();
      const id = pick(logits.subarray((win.length - 1) * V, win.length * V));
      out.push(id);
      hist.push(id);
    }
  } finally {
    rt.destroy();
  }
  return out;
}

describe('Generator', () => {
  let gpu: Gpu;
  beforeAll(async () => {
    gpu = await testGpu();
  });
  const tok = byteTokenizer();

  for (const [name, over] of VARIANTS) {
    it(`greedy equals a full forward per step across window slides: ${name}`, async () => {
      const cfg = parseModelConfig({ ...base, ...over });
      const layout = layoutParameters(parameterSpecs(cfg));
      const flat = initParameters(layout, 3);
      const prompt = 'Once upon a';
      const n = 30; // 11 + 30 tokens > 16: several slides
      const want = await reference(gpu, cfg, flat, Array.from(tok.encode(prompt)), n, cfg.context_length, (r) => {
        let b = 0; for (let i = 1; i < r.length; i++) if (r[i] > r[b]) b = i; return b;
      });
      const g = new Generator(gpu, cfg, weightsOf(layout, flat), tok, { numSamples: 2, precision: 'f32' });
      const res = await g.generate(prompt, { temperature: 0, maxNewTokens: n });
      g.destroy();
      expect(res[0].ids).toEqual(want);
      expect(res[1].ids).toEqual(want);
      expect(res[0].stop_reason).toBe('max_tokens');
    });
  }

  it('greedy with a slide that keeps 5 of 16 tokens (chains restart after each rebuild)', async () => {
    const cfg = parseModelConfig({ ...base, norm: 'post' });
    const layout = layoutParameters(parameterSpecs(cfg));
    const flat = initParameters(layout, 9);
    const prompt = 'Lily and';
    const pick = (r: Float32Array) => { let b = 0; for (let i = 1; i < r.length; i++) if (r[i] > r[b]) b = i; return b; };
    const want = await reference(gpu, cfg, flat, Array.from(tok.encode(prompt)), 40, 5, pick);
    const g = new Generator(gpu, cfg, weightsOf(layout, flat), tok, { precision: 'f32', slideKeep: 5 });
    const [r] = await g.generate(prompt, { temperature: 0, maxNewTokens: 40 });
    g.destroy();
    expect(r.ids).toEqual(want);
  });

  it('sampling (top-k, top-p) equals the same sampler on full-forward logits, with a slide that keeps half the window', async () => {
    const cfg = parseModelConfig(base);
    const layout = layoutParameters(parameterSpecs(cfg));
    const flat = initParameters(layout, 5);
    const settings = { temperature: 0.9, topK: 20, topP: 0.9, seed: 4 };
    const prompt = 'The cat';
    const keep = 8;
    const g = new Generator(gpu, cfg, weightsOf(layout, flat), tok, { numSamples: 2, precision: 'f32', slideKeep: keep, sampleOn: 'cpu' });
    const res = await g.generate(prompt, { ...settings, maxNewTokens: 24 });
    g.destroy();
    for (const b of [0, 1]) {
      const s = new Sampler(settings, b);
      const want = await reference(gpu, cfg, flat, Array.from(tok.encode(prompt)), 24, keep, (r) => s.next(r));
      expect(res[b].ids).toEqual(want);
    }
    expect(res[0].ids).not.toEqual(res[1].ids);
  });

  it('GPU sampling draws with the seeded uniforms what the sampler distribution gives on full-forward logits; same seed, same sample', async () => {
    const cfg = parseModelConfig({ ...base, pos: 'nope' });
    const layout = layoutParameters(parameterSpecs(cfg));
    const flat = initParameters(layout, 6);
    const settings = { temperature: 0.7, topK: 30, topP: 0.8, seed: 12 };
    const prompt = 'A big';
    const g = new Generator(gpu, cfg, weightsOf(layout, flat), tok, { numSamples: 2, precision: 'f32' });
    const res = await g.generate(prompt, { ...settings, maxNewTokens: 20 });
    const again = await g.generate(prompt, { ...settings, maxNewTokens: 20 });
    const other = await g.generate(prompt, { ...settings, seed: 13, maxNewTokens: 20 });
    g.destroy();
    expect(again.map((r) => r.ids)).toEqual(res.map((r) => r.ids));
    expect(other.map((r) => r.ids)).not.toEqual(res.map((r) => r.ids));
    for (const b of [0, 1]) {
      const s = new Sampler(settings, b);
      const want = await reference(gpu, cfg, flat, Array.from(tok.encode(prompt)), 20, cfg.context_length, (row) => {
        const d = samplingDistribution(row, settings); // ids in id order, as the kernel walks them
        const u = Math.fround(s.uniform());
        let acc = 0;
        for (let i = 0; i < d.ids.length; i++) { acc += d.probs[i]; if (u < acc) return d.ids[i]; }
        return d.ids[d.ids.length - 1];
      });
      expect(res[b].ids).toEqual(want);
    }
  });

  it('holds back UTF-8 characters split across byte tokens, stops at <|endoftext|>, starts an empty prompt from it', async () => {
    // A model that walks a fixed chain of tokens: one-hot embeddings, zero blocks, an LM head whose row for id j
    // picks out j's predecessor.
    const eot = 256;
    const bytes = [0x48, ...Buffer.from('é€😀!', 'utf8')];
    const chain = [eot, ...bytes, eot];
    const cfg = parseModelConfig({ vocab_size: 257, context_length: 32, d_model: 264, num_layers: 1, num_heads: 4, d_ff: 16, norm: 'none', pos: 'nope', ffn: 'silu' });
    const layout = layoutParameters(parameterSpecs(cfg));
    const flat = new Float32Array(layout.totalFloats);
    const emb = layout.byName.get('token_embeddings.weight')!;
    const head = layout.byName.get('lm_head.weight')!;
    for (let i = 0; i < cfg.vocab_size; i++) flat[emb.offset + i * cfg.d_model + i] = 1;
    for (let i = 0; i + 1 < chain.length; i++) flat[head.offset + chain[i + 1] * cfg.d_model + chain[i]] = 10;
    const vocab = [...Array.from({ length: 256 }, (_, b) => Uint8Array.of(b)), Buffer.from('<|endoftext|>')];
    const t = new Tokenizer({ vocab, merges: [], specials: ['<|endoftext|>'] });
    const g = new Generator(gpu, cfg, weightsOf(layout, flat), t, { precision: 'f32' });
    for (const temperature of [0, 0.01]) {
      const events: GenerateEvent[] = [];
      const [r] = await g.generate('', { temperature, maxNewTokens: 50 }, { onEvent: (e) => events.push(e) });
      expect(r.prompt_ids).toEqual([eot]);
      expect(r.stop_reason).toBe('eos');
      expect(r.ids).toEqual(bytes);
      expect(r.text).toBe('Hé€😀!');
      const deltas = events.filter((e) => e.type === 'token').map((e) => (e as { text: string }).text);
      expect(deltas).toEqual(['H', '', 'é', '', '', '€', '', '', '', '😀', '!']);
      expect(JSON.parse(JSON.stringify(events))).toEqual(events); // serializable
      expect(events.at(-1)).toMatchObject({ type: 'done', sample: 0, stop_reason: 'eos', text: 'Hé€😀!' });
    }
    // max new tokens stops mid-character: the incomplete tail becomes U+FFFD at the end.
    const [cut] = await g.generate('H', { temperature: 0, maxNewTokens: 4 });
    expect(cut.ids).toEqual(bytes.slice(1, 5));
    expect(cut.text).toBe('é\uFFFD');
    expect(cut.stop_reason).toBe('max_tokens');
    g.destroy();
  });

  it('keeps the tail of a prompt longer than the context and says so', async () => {
    const cfg = parseModelConfig(base);
    const layout = layoutParameters(parameterSpecs(cfg));
    const g = new Generator(gpu, cfg, weightsOf(layout, initParameters(layout, 1)), tok, { precision: 'f32' });
    const events: GenerateEvent[] = [];
    const prompt = 'abcdefghijklmnopqrstuvwxyz0123456789';
    const [r] = await g.generate(prompt, { temperature: 0, maxNewTokens: 3 }, { onEvent: (e) => events.push(e) });
    expect(r.prompt_ids).toEqual(Array.from(tok.encode(prompt.slice(-16))));
    expect(events[0]).toMatchObject({ type: 'warning', code: 'PROMPT_TRUNCATED', data: { dropped: 20, kept: 16 } });
    expect(r.ids.length).toBe(3);
    // empty prompt without <|endoftext|> in the tokenizer
    await expect(g.generate('', {})).rejects.toThrow(/prompt is empty and this tokenizer has no <\|endoftext\|>/);
    const ac = new AbortController();
    ac.abort();
    const [ab] = await g.generate('a', { maxNewTokens: 5 }, { signal: ac.signal });
    expect(ab.stop_reason).toBe('aborted');
    g.destroy();
  });

  it('rejects a tokenizer larger than the model vocabulary and mixed precision without tensor cores', async () => {
    const cfg = parseModelConfig({ ...base, vocab_size: 200 });
    const layout = layoutParameters(parameterSpecs(cfg));
    const w = weightsOf(layout, initParameters(layout, 1));
    expect(() => new Generator(gpu, cfg, w, tok)).toThrow(/tokenizer has 256 tokens but the model's vocab_size is 200/);
    if (!gpu.info.subgroupMatrix) {
      const cfg2 = parseModelConfig(base);
      const l2 = layoutParameters(parameterSpecs(cfg2));
      let err: unknown;
      try { new Generator(gpu, cfg2, weightsOf(l2, initParameters(l2, 1)), tok, { precision: 'mixed' }); } catch (e) { err = e; }
      expect(err).toBeInstanceOf(UserError);
      expect((err as UserError).code).toBe('GPU_UNSUPPORTED');
    }
  });
});
