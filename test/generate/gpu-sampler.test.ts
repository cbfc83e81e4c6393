// The GPU sampler (attention_decode.wgsl sample_rows): with fixed logits and seeded uniforms, the draws of many
// rows follow the temperature-scaled, top-k/top-p-truncated, renormalised distribution (chi-square against a
// distribution computed here from the definitions), and the same uniforms give the same ids.
import { describe, it, expect, beforeAll } from 'vitest';
import { testGpu } from '../helpers';
import type { Gpu } from '../../src-main/engine/gpu/device';
import { Program } from '../../src-main/engine/gpu/program';
import { byteLength, createTensor, readBytes, upload, type Tensor } from '../../src-main/engine/gpu/tensor';
import { sampleRows, samplingUniform, writeSampling, decodeStepUniform } from '../../src-main/engine/kernels/attention-decode';
import { rngFor, uniform01 } from '../../src-main/engine/rng';

const readU32 = async (d: GPUDevice, t: Tensor) => new Uint32Array(await readBytes(d, t.buffer, t.byteOffset, byteLength(t)));

const LOGITS = Float32Array.from([1.2, -0.3, 2.5, 0.7, 2.5, -1.9, 0.1, 1.8, -0.8, 3.1, 0.4, 1.0]);

function expected(logits: Float32Array, T: number, k: number, p: number): Map<number, number> {
  const ids = Array.from(logits.keys()).sort((a, b) => logits[b] - logits[a] || a - b);
  let w = ids.map((i) => Math.exp(logits[i] / T));
  let kept = k > 0 ? ids.slice(0, k) : ids;
  w = w.slice(0, kept.length);
  const mass = w.reduce((a, b) => a + b, 0);
  if (p < 1) {
    let cum = 0;
    let n = 0;
    while (n < kept.length) { cum += w[n] / mass; n++; if (cum >= p) break; }
    kept = kept.slice(0, n);
    w = w.slice(0, n);
  }
  const z = w.reduce((a, b) => a + b, 0);
  return new Map(kept.map((id, i) => [id, w[i] / z]));
}

const critical = (df: number) => df * (1 - 2 / (9 * df) + 3.09 * Math.sqrt(2 / (9 * df))) ** 3;

describe('GPU sampler', () => {
  let gpu: Gpu;
  beforeAll(async () => {
    gpu = await testGpu();
  });

  async function draws(T: number, k: number, p: number, R: number, seed: number): Promise<Uint32Array> {
    const d = gpu.device;
    const V = LOGITS.length;
    const logits = createTensor(d, [R, V], 'logits');
    const all = new Float32Array(R * V);
    for (let r = 0; r < R; r++) all.set(LOGITS, r * V);
    upload(d, logits, all);
    const rng = rngFor(seed, 9);
    const rand = createTensor(d, [R], 'rand');
    upload(d, rand, Float32Array.from({ length: R }, () => uniform01(rng)));
    const w = createTensor(d, [R, V], 'weights');
    const ids = createTensor(d, [R], 'ids', 'u32');
    const tokens = createTensor(d, [R], 'tokens', 'u32');
    const step = decodeStepUniform(d);
    const su = samplingUniform(d);
    writeSampling(d, su, T, k, p);
    const prog = new Program(d);
    sampleRows(prog, R, V, step, su, logits, rand, w, ids, tokens);
    prog.submit();
    const out = await readU32(d, ids);
    expect(Array.from(await readU32(d, tokens))).toEqual(Array.from(out));
    for (const t of [logits, rand, w, ids, tokens]) t.buffer.destroy();
    return out;
  }

  const cases: Array<[number, number, number]> = [[1, 0, 1], [0.5, 3, 1], [1.3, 0, 0.6], [0.8, 5, 0.7], [2, 0, 0.95]];
  for (const [T, k, p] of cases) {
    it(`draws follow softmax(logits/${T}) truncated to top-k ${k}, top-p ${p}`, async () => {
      const R = 6000;
      const got = await draws(T, k, p, R, 1);
      const dist = expected(LOGITS, T, k, p);
      const counts = new Map<number, number>();
      for (const id of got) counts.set(id, (counts.get(id) ?? 0) + 1);
      for (const id of counts.keys()) expect(dist.has(id), `token ${id} is outside the kept set`).toBe(true);
      let chi = 0;
      for (const [id, q] of dist) chi += ((counts.get(id) ?? 0) - R * q) ** 2 / (R * q);
      expect(chi).toBeLessThan(critical(Math.max(1, dist.size - 1)));
    });
  }

  it('the same uniforms give the same ids, other uniforms others', async () => {
    const a = await draws(1, 0, 0.9, 256, 3);
    expect(Array.from(await draws(1, 0, 0.9, 256, 3))).toEqual(Array.from(a));
    expect(Array.from(await draws(1, 0, 0.9, 256, 4))).not.toEqual(Array.from(a));
  });
});
