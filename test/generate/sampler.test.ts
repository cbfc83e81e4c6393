// The sampler: with fixed logits and a fixed seed, many draws follow the temperature-scaled, top-k/top-p-truncated,
// renormalised distribution (a chi-square test against a distribution computed here independently); the same seed
// gives the same draws; greedy is the argmax; bad settings are coded one-line errors.
import { describe, it, expect } from 'vitest';
import { Sampler, checkSampling, samplingDistribution } from '../../src-main/engine/generate/sampler';
import { UserError } from '../../src-main/util/errors';

const LOGITS = Float32Array.from([1.2, -0.3, 2.5, 0.7, 2.5, -1.9, 0.1, 1.8, -0.8, 3.1, 0.4, 1.0]);

/** The expected distribution, straight from the definitions: softmax(l/T), top-k, then top-p on the renormalised rest. */
function expected(logits: Float32Array, T: number, k: number, p: number): Map<number, number> {
  const ids = Array.from(logits.keys()).sort((a, b) => logits[b] - logits[a] || a - b);
  const w = ids.map((i) => Math.exp(logits[i] / T));
  let kept = k > 0 ? ids.slice(0, k) : ids;
  let wk = w.slice(0, kept.length);
  const total = wk.reduce((a, b) => a + b, 0);
  if (p < 1) {
    let cum = 0;
    let n = 0;
    while (n < kept.length) { cum += wk[n] / total; n++; if (cum >= p) break; }
    kept = kept.slice(0, n);
    wk = wk.slice(0, n);
  }
  const z = wk.reduce((a, b) => a + b, 0);
  return new Map(kept.map((id, i) => [id, wk[i] / z]));
}

/** Chi-square critical value at significance 0.001 (Wilson–Hilferty). */
function critical(df: number): number {
  const z = 3.09;
  return df * (1 - 2 / (9 * df) + z * Math.sqrt(2 / (9 * df))) ** 3;
}

function chiSquare(counts: Map<number, number>, dist: Map<number, number>, N: number): number {
  let chi = 0;
  for (const [id, q] of dist) chi += ((counts.get(id) ?? 0) - N * q) ** 2 / (N * q);
  return chi;
}

function draw(settings: { temperature: number; topK: number; topP: number }, N: number, seed = 11): Map<number, number> {
  const s = new Sampler({ ...settings, seed }, 0);
  const counts = new Map<number, number>();
  for (let i = 0; i < N; i++) {
    const id = s.next(LOGITS);
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  return counts;
}

describe('sampler', () => {
  const N = 40_000;
  const cases: Array<[number, number, number]> = [[1, 0, 1], [0.5, 3, 1], [1.3, 0, 0.6], [0.8, 5, 0.7], [2, 0, 0.95]];
  for (const [T, k, p] of cases) {
    it(`draws follow softmax(logits/${T}) truncated to top-k ${k}, top-p ${p}`, () => {
      const dist = expected(LOGITS, T, k, p);
      const counts = draw({ temperature: T, topK: k, topP: p }, N);
      for (const id of counts.keys()) expect(dist.has(id), `token ${id} is outside the kept set`).toBe(true);
      const chi = chiSquare(counts, dist, N);
      expect(chi).toBeLessThan(critical(Math.max(1, dist.size - 1)));
      // The engine's own description of the distribution (its bucketed cut) agrees with this one.
      const d = samplingDistribution(LOGITS, { temperature: T, topK: k, topP: p });
      expect(d.ids.length).toBe(dist.size);
      d.ids.forEach((id, i) => expect(d.probs[i]).toBeCloseTo(dist.get(id)!, 6));
    });
  }

  it('the chi-square test has the power to reject a wrong distribution', () => {
    // Draws at temperature 1 do not pass as draws at temperature 0.7.
    const counts = draw({ temperature: 1, topK: 0, topP: 1 }, N);
    const wrong = expected(LOGITS, 0.7, 0, 1);
    expect(chiSquare(counts, wrong, N)).toBeGreaterThan(critical(wrong.size - 1));
  });

  it('the same seed gives the same draws, another seed or sample index others', () => {
    const seq = (seed: number, index: number) => {
      const s = new Sampler({ temperature: 1, topK: 0, topP: 0.9, seed }, index);
      return Array.from({ length: 64 }, () => s.next(LOGITS));
    };
    expect(seq(5, 0)).toEqual(seq(5, 0));
    expect(seq(5, 0)).not.toEqual(seq(6, 0));
    expect(seq(5, 0)).not.toEqual(seq(5, 1));
  });

  it('temperature 0 is the argmax, lowest id on ties', () => {
    const s = new Sampler({ temperature: 0, topK: 0, topP: 1, seed: 0 });
    expect(s.next(LOGITS)).toBe(9);
    expect(s.next(Float32Array.from([0, 4, 1, 4]))).toBe(1);
  });

  it('a large vocabulary with a long tail and ties keeps exactly the sorted top-k / nucleus', () => {
    const V = 5000;
    const logits = Float32Array.from({ length: V }, (_, i) => (i % 97 === 0 ? 8 - i / 1000 : -4 + Math.sin(i)));
    const tied = Float32Array.from(logits, (x) => Math.round(x * 2) / 2); // many equal values at every cut
    for (const row of [logits, tied]) {
      for (const [k, p] of [[0, 0.5], [0, 0.999999], [40, 1], [4000, 0.99], [7, 0.3], [0, 0.05]]) {
        const d = samplingDistribution(row, { temperature: 1, topK: k, topP: p });
        const want = expected(row, 1, k, p);
        expect(d.ids.length).toBe(want.size);
        for (const id of d.ids) expect(want.has(id), `id ${id} (top-k ${k}, top-p ${p})`).toBe(true);
      }
    }
  });

  it('rejects bad settings with a coded one-line error', () => {
    const bad = (over: object) => {
      try {
        checkSampling({ temperature: 1, topK: 0, topP: 1, seed: 0, ...over });
      } catch (e) {
        expect(e).toBeInstanceOf(UserError);
        expect((e as UserError).code).toBe('INVALID_ARGUMENT');
        return (e as Error).message;
      }
      return 'no error';
    };
    expect(bad({ temperature: -0.1 })).toMatch(/temperature must be a number ≥ 0/);
    expect(bad({ topP: 0 })).toMatch(/top-p must be in \(0, 1\]/);
    expect(bad({ topP: 1.5 })).toMatch(/top-p must be in \(0, 1\]/);
    expect(bad({ topK: 2.5 })).toMatch(/top-k must be an integer/);
    expect(bad({ temperature: 0.7 })).toBe('no error');
  });
});
