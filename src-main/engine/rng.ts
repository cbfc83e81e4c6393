// Deterministic random numbers. Every random draw is a pure function of (seed, stream, index), so a run's
// batches and initial weights are reproducible and a resumed run needs no generator state beyond the seed
// and the step. pure-rand supplies the generator (xoroshiro128+) and unbiased integer ranges.
import { xoroshiro128plus, unsafeUniformIntDistribution, type RandomGenerator } from 'pure-rand';

export const STREAM_INIT = 1;
export const STREAM_TRAIN_BATCH = 2;
export const STREAM_VALID_BATCH = 3;
export const STREAM_SAMPLE = 4;

/** 32-bit mix (murmur3 finalizer) of several integers. */
function mix(...xs: number[]): number {
  let h = 0x9e3779b9 | 0;
  for (const x of xs) {
    let k = Math.imul(x | 0, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    h ^= Math.imul(k, 0x1b873593);
    h = Math.imul((h << 13) | (h >>> 19), 5) + 0xe6546b64;
    // high part for indices above 2^32
    h ^= Math.floor(x / 4294967296) | 0;
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h;
}

export function rngFor(seed: number, stream: number, index = 0): RandomGenerator {
  return xoroshiro128plus(mix(seed, stream, index));
}

/** Uniform integer in [lo, hi] inclusive. */
export function uniformInt(rng: RandomGenerator, lo: number, hi: number): number {
  return unsafeUniformIntDistribution(lo, hi, rng);
}

/** Uniform float in [0, 1) with 53 random bits. */
export function uniform01(rng: RandomGenerator): number {
  const a = rng.unsafeNext() >>> 5;
  const b = rng.unsafeNext() >>> 6;
  return (a * 67108864 + b) / 9007199254740992;
}

/** Standard normal (Box–Muller). */
export function normal(rng: RandomGenerator): number {
  let u = 0;
  while (u === 0) u = uniform01(rng);
  const v = uniform01(rng);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/** Fills `out` with N(0, std²) values truncated to [−cut·std, cut·std] by rejection (like torch's trunc_normal_). */
export function truncatedNormal(rng: RandomGenerator, out: Float32Array, std: number, cut = 3): void {
  for (let i = 0; i < out.length; i++) {
    let z: number;
    do z = normal(rng);
    while (Math.abs(z) > cut);
    out[i] = z * std;
  }
}

/**
 * n values uniform in [−scale, scale) from a 32-bit xorshift seeded with `seed`: cheap, reproducible test and
 * benchmark operands (not for training, which draws from rngFor's streams).
 */
export function xorshiftUniform(n: number, seed: number, scale = 1): Float32Array {
  let s = seed >>> 0 || 1;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    out[i] = ((s / 4294967296) * 2 - 1) * scale;
  }
  return out;
}
