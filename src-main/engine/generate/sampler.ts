// Next-token sampling on the CPU from one row of logits: temperature (0 = greedy), top-k, top-p (nucleus), the
// kept tokens renormalised, one uniform draw per token from the project's seeded generator (rng.ts, stream
// STREAM_SAMPLE, one stream per sample index), so a seed reproduces a sample exactly.
import type { RandomGenerator } from 'pure-rand';
import { rngFor, uniform01, STREAM_SAMPLE } from '../rng';
import { UserError } from '../../util/errors';

export interface SamplingSettings {
  /** 0: greedy (argmax, lowest id on ties). */
  temperature: number;
  /** Keep the smallest set of most likely tokens whose probability reaches top_p; 1 keeps all. In (0, 1]. */
  topP: number;
  /** Keep the k most likely tokens; 0 keeps all. */
  topK: number;
  seed: number;
}

export const DEFAULT_SAMPLING: SamplingSettings = { temperature: 1, topP: 1, topK: 0, seed: 0 };

/** Throws a coded UserError naming the bad setting. */
export function checkSampling(s: SamplingSettings): void {
  const bad = (m: string) => new UserError(m, { code: 'INVALID_ARGUMENT' });
  if (!Number.isFinite(s.temperature) || s.temperature < 0) throw bad(`temperature must be a number ≥ 0 (0 = greedy), got ${s.temperature}`);
  if (!Number.isFinite(s.topP) || s.topP <= 0 || s.topP > 1) throw bad(`top-p must be in (0, 1] (1 keeps every token), got ${s.topP}`);
  if (!Number.isInteger(s.topK) || s.topK < 0) throw bad(`top-k must be an integer ≥ 0 (0 keeps every token), got ${s.topK}`);
  if (!Number.isSafeInteger(s.seed) || s.seed < 0) throw bad(`the seed must be an integer ≥ 0, got ${s.seed}`);
}

/** Index of the largest value (lowest index on ties; NaN never wins). */
export function argmax(row: ArrayLike<number>): number {
  let bi = 0;
  let bv = -Infinity;
  for (let i = 0; i < row.length; i++) if (row[i] > bv) { bv = row[i]; bi = i; }
  return bi;
}

/** Tokens below this probability are sorted only if the kept set is not found among the larger ones. */
const CANDIDATE_P = 1e-7;

/**
 * The distribution a draw follows: the kept token ids (most likely first, lower id first on ties) and their
 * renormalised probabilities. Temperature 0 gives the argmax with probability 1.
 */
export function samplingDistribution(row: ArrayLike<number>, s: Pick<SamplingSettings, 'temperature' | 'topP' | 'topK'>): { ids: number[]; probs: number[] } {
  const V = row.length;
  if (s.temperature === 0) return { ids: [argmax(row)], probs: [1] };
  let mx = -Infinity;
  for (let i = 0; i < V; i++) if (row[i] > mx) mx = row[i];
  const p = new Float64Array(V);
  let z = 0;
  for (let i = 0; i < V; i++) {
    const e = Math.exp((row[i] - mx) / s.temperature);
    p[i] = Number.isFinite(e) ? e : 0;
    z += p[i];
  }
  for (let i = 0; i < V; i++) p[i] /= z;
  const truncated = s.topK > 0 || s.topP < 1;
  if (!truncated) {
    const ids = Array.from({ length: V }, (_, i) => i);
    return { ids, probs: Array.from(p) };
  }
  const order = (c: number[]) => c.sort((a, b) => p[b] - p[a] || a - b);
  // top-k first, then top-p on the renormalised top-k distribution (the order Hugging Face's warpers use).
  const keep = (sorted: number[], complete: boolean): number[] | undefined => {
    let k = sorted.length;
    if (s.topK > 0) {
      if (sorted.length < s.topK && !complete) return undefined;
      k = Math.min(s.topK, sorted.length);
    }
    if (s.topP < 1) {
      let mass = 0;
      for (let i = 0; i < k; i++) mass += p[sorted[i]];
      if (s.topK === 0) mass = 1;
      const target = s.topP * mass;
      let cum = 0;
      for (let i = 0; i < k; i++) {
        cum += p[sorted[i]];
        if (cum >= target) return sorted.slice(0, i + 1);
      }
      if (!complete && s.topK === 0) return undefined; // the nucleus reaches below the candidates
    }
    return sorted.slice(0, k);
  };
  const candidates: number[] = [];
  for (let i = 0; i < V; i++) if (p[i] >= CANDIDATE_P) candidates.push(i);
  // Every non-candidate is less likely than every candidate, so if the kept set is found among the candidates it
  // is the same as with a full sort.
  const ids = keep(order(candidates), candidates.length === V) ?? keep(order(Array.from({ length: V }, (_, i) => i)), true)!;
  let total = 0;
  for (const i of ids) total += p[i];
  return { ids, probs: ids.map((i) => p[i] / total) };
}

/** Draws from samplingDistribution with one uniform number. */
export function drawFrom(dist: { ids: number[]; probs: number[] }, u: number): number {
  let acc = 0;
  for (let i = 0; i < dist.ids.length; i++) {
    acc += dist.probs[i];
    if (u < acc) return dist.ids[i];
  }
  return dist.ids[dist.ids.length - 1];
}

/** One sample's generator: the same (seed, sample index) and logits give the same ids. */
export class Sampler {
  private readonly rng: RandomGenerator;
  constructor(readonly settings: SamplingSettings, sampleIndex = 0) {
    this.rng = rngFor(settings.seed, STREAM_SAMPLE, sampleIndex);
  }

  next(row: ArrayLike<number>): number {
    if (this.settings.temperature === 0) return argmax(row);
    const s = this.settings;
    if (s.topK === 0 && s.topP === 1) {
      // No truncation: one pass in id order, no sort.
      let mx = -Infinity;
      for (let i = 0; i < row.length; i++) if (row[i] > mx) mx = row[i];
      let z = 0;
      for (let i = 0; i < row.length; i++) z += Math.exp((row[i] - mx) / s.temperature) || 0;
      const target = uniform01(this.rng) * z;
      let acc = 0;
      for (let i = 0; i < row.length; i++) {
        acc += Math.exp((row[i] - mx) / s.temperature) || 0;
        if (target < acc) return i;
      }
      return argmax(row);
    }
    return drawFrom(samplingDistribution(row, s), uniform01(this.rng));
  }
}
