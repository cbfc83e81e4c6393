// KV-cache decoding equals the training runtime's full forward pass (evaluate with captureLogits): the logits of a
// batched prefill and of every following one-token step match the full pass at every position, for every model
// variant, and the GPU's greedy argmax picks the same ids as the CPU argmax of those logits.
import { describe, it, expect, beforeAll } from 'vitest';
import { testGpu } from '../helpers';
import type { Gpu } from '../../src-main/engine/gpu/device';
import { parseModelConfig } from '../../src-main/engine/model/config';
import { initParameters, layoutParameters, parameterSpecs } from '../../src-main/engine/model/parameters';
import { ForwardRuntime } from '../../src-main/engine/model/transformer';
import { KvDecoder } from '../../src-main/engine/generate/decoder';
import { xorshiftUniform } from '../../src-main/engine/rng';
import { VARIANTS } from './variants';

const base = { vocab_size: 67, context_length: 24, d_model: 48, num_layers: 2, num_heads: 3, d_ff: 80 };

function ids(n: number, vocab: number, seed: number): Uint32Array {
  return Uint32Array.from(xorshiftUniform(n, seed), (u) => Math.floor(((u + 1) / 2) * vocab) % vocab);
}

function maxDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

const argmax = (x: Float32Array, off: number, n: number) => {
  let bi = 0;
  for (let i = 1; i < n; i++) if (x[off + i] > x[off + bi]) bi = i;
  return bi;
};

describe('KV-cache decoding equals the full forward pass', () => {
  let gpu: Gpu;
  beforeAll(async () => {
    gpu = await testGpu();
  });

  for (const [name, over] of VARIANTS) {
    it(name, async () => {
      const cfg = parseModelConfig({ ...base, ...over });
      const B = 2;
      const T = cfg.context_length;
      const V = cfg.vocab_size;
      const layout = layoutParameters(parameterSpecs(cfg));
      const flat = initParameters(layout, 7);
      // Gains away from 1 so that a norm weight applied in the wrong place shows.
      for (const s of layout.slots) if (s.init === 'gain') for (let i = 0; i < s.numel; i++) flat[s.offset + i] = 0.5 + ((i * 37) % 11) / 10;
      const seq = ids(B * T, V, 3);

      const rt = new ForwardRuntime(gpu, cfg, { batchSize: B, seqLen: T, captureLogits: true, logitsChunkBytes: 4096 });
      rt.setParameters(flat);
      rt.setBatch(seq, seq);
      rt.evaluate();
      const full = await rt.readLogits();
      rt.destroy();

      const dec = new KvDecoder(gpu, cfg, { batch: B });
      dec.setWeights((n) => { const s = layout.byName.get(n)!; return flat.subarray(s.offset, s.offset + s.numel); });
      const P = 5;
      const prompt = new Uint32Array(B * P);
      for (let b = 0; b < B; b++) prompt.set(seq.subarray(b * T, b * T + P), b * P);
      dec.forward(P, 'all', prompt);
      const pre = await dec.readAllLogits(B * P);
      let worst = 0;
      for (let b = 0; b < B; b++) {
        worst = Math.max(worst, maxDiff(pre.subarray(b * P * V, (b + 1) * P * V), full.subarray(b * T * V, (b * T + P) * V)));
      }
      for (let t = P; t < T; t++) {
        const next = Uint32Array.from({ length: B }, (_, b) => seq[b * T + t]);
        const greedy = t % 2 === 0;
        dec.forward(1, greedy ? 'greedy' : 'last', next, 0);
        const got = await dec.readLogits();
        for (let b = 0; b < B; b++) worst = Math.max(worst, maxDiff(got.subarray(b * V, (b + 1) * V), full.subarray((b * T + t) * V, (b * T + t + 1) * V)));
        if (greedy) {
          const tok = await dec.readTokens(1);
          for (let b = 0; b < B; b++) expect(tok[b]).toBe(argmax(full, (b * T + t) * V, V));
        }
      }
      expect(dec.pos).toBe(T);
      dec.destroy();
      expect(worst).toBeLessThan(2e-4);
      await gpu.sync();
    });
  }
});
