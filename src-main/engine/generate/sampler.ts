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

const BUCKETS = 0x4000; // weights in (0, 1]: sign, exponent and 4 mantissa bits of the float64 (monotone in the value)

/** Reusable buffers of one sampler (weights, their float64 bits, bucket keys and tallies, marks). */
class Scratch {
  w = new Float64Array(0);
  bits = new Uint32Array(0);
  key = new Uint16Array(0);
  mark = new Uint8Array(0);
  readonly count = new Int32Array(BUCKETS);
  readonly sum = new Float64Array(BUCKETS);
  fit(V: number): void {
    if (this.w.length >= V) return;
    this.w = new Float64Array(V);
    this.bits = new Uint32Array(this.w.buffer);
    this.key = new Uint16Array(V);
    this.mark = new Uint8Array(V);
  }
}

/**
 * The kept tokens in id order and their unnormalised weights exp((l − max)/T): all of them, or those of top-k and
 * then top-p on the renormalised top-k (the order of Hugging Face's warpers), exactly the set a stable sort by
 * (probability desc, id asc) gives. No sort over the vocabulary: weights are tallied into buckets by their float64
 * exponent and top mantissa bits, and only the bucket where a cut falls is sorted.
 */
function keptTokens(row: ArrayLike<number>, s: Pick<SamplingSettings, 'temperature' | 'topP' | 'topK'>, sc: Scratch): { ids?: Uint32Array; weights: Float64Array; total: number } {
  const V = row.length;
  sc.fit(V);
  const w = sc.w;
  let mx = -Infinity;
  for (let i = 0; i < V; i++) if (row[i] > mx) mx = row[i];
  const inv = 1 / s.temperature;
  let z = 0;
  for (let i = 0; i < V; i++) {
    const e = Math.exp((row[i] - mx) * inv);
    w[i] = e === e ? e : 0; // NaN logits never win
    z += w[i];
  }
  if ((s.topK === 0 || s.topK >= V) && s.topP >= 1) return { weights: w.subarray(0, V), total: z };
  const { key, count, sum, mark, bits } = sc;
  count.fill(0);
  sum.fill(0);
  for (let i = 0; i < V; i++) {
    const k = bits[2 * i + 1] >>> 16; // high word of the little-endian float64
    key[i] = k;
    count[k]++;
    sum[k] += w[i];
  }
  // Members of one bucket, most likely first (lower id first on ties), restricted to `only` when given.
  const members = (b: number): number[] => {
    const m: number[] = [];
    for (let i = 0; i < V; i++) if (key[i] === b) m.push(i);
    return m.sort((x, y) => w[y] - w[x] || x - y);
  };
  // The cut: every token of a bucket above cutBucket, plus `take` (the first tokens of cutBucket).
  let cutBucket = -1;
  let take: number[] = [];
  let mass = z;
  if (s.topK > 0 && s.topK < V) {
    let cc = 0;
    let cs = 0;
    for (let b = BUCKETS - 1; b >= 0; b--) {
      if (cc + count[b] >= s.topK) {
        cutBucket = b;
        take = members(b).slice(0, s.topK - cc);
        mass = cs + take.reduce((a, i) => a + w[i], 0);
        break;
      }
      cc += count[b];
      cs += sum[b];
    }
  }
  if (s.topP < 1) {
    const target = s.topP * mass;
    let cs = 0;
    for (let b = BUCKETS - 1; b >= 0 && b >= cutBucket; b--) {
      const inBucket = b === cutBucket ? take : undefined;
      const bs = inBucket ? inBucket.reduce((a, i) => a + w[i], 0) : sum[b];
      if (cs + bs >= target && (inBucket ? inBucket.length > 0 : count[b] > 0)) {
        const m = inBucket ?? members(b);
        const chosen: number[] = [];
        for (const i of m) {
          chosen.push(i);
          cs += w[i];
          if (cs >= target) break;
        }
        cutBucket = b;
        take = chosen;
        break;
      }
      cs += bs;
    }
  }
  mark.fill(0, 0, V);
  for (const i of take) mark[i] = 1;
  let n = 0;
  for (let i = 0; i < V; i++) if (key[i] > cutBucket || mark[i]) n++;
  const ids = new Uint32Array(n);
  const weights = new Float64Array(n);
  let total = 0;
  for (let i = 0, k = 0; i < V; i++) {
    if (key[i] > cutBucket || mark[i]) {
      ids[k] = i;
      weights[k++] = w[i];
      total += w[i];
    }
  }
  return { ids, weights, total };
}

/**
 * The distribution a draw follows: the kept token ids (in id order) and their renormalised probabilities.
 * Temperature 0 gives the argmax with probability 1.
 */
export function samplingDistribution(row: ArrayLike<number>, s: Pick<SamplingSettings, 'temperature' | 'topP' | 'topK'>): { ids: number[]; probs: number[] } {
  if (s.temperature === 0) return { ids: [argmax(row)], probs: [1] };
  const k = keptTokens(row, s, new Scratch());
  return { ids: k.ids ? Array.from(k.ids) : Array.from({ length: row.length }, (_, i) => i), probs: Array.from(k.weights, (x) => x / k.total) };
}

/** One sample's generator: the same (seed, sample index) and logits give the same ids. */
export class Sampler {
  private readonly rng: RandomGenerator;
  constructor(readonly settings: SamplingSettings, sampleIndex = 0) {
    this.rng = rngFor(settings.seed, STREAM_SAMPLE, sampleIndex);
  }

  private readonly scratch = new Scratch();

  /** The next uniform in [0, 1) of this sample's stream (what a GPU draw uses instead of next()). */
  uniform(): number {
    return uniform01(this.rng);
  }

  next(row: ArrayLike<number>): number {
    if (this.settings.temperature === 0) return argmax(row);
    const k = keptTokens(row, this.settings, this.scratch);
    const target = uniform01(this.rng) * k.total;
    let acc = 0;
    const n = k.weights.length;
    for (let i = 0; i < n; i++) {
      acc += k.weights[i];
      if (target < acc) return k.ids ? k.ids[i] : i;
    }
    return k.ids ? k.ids[n - 1] : n - 1;
  }
}
