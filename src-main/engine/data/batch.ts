// CS336 get_batch semantics: for each start i, inputs = data[i : i+T], targets = data[i+1 : i+T+1].
import { rngFor, uniformInt, STREAM_TRAIN_BATCH } from '../rng';

export interface Batch {
  inputs: Uint32Array;
  targets: Uint32Array;
}

export function batchFromStarts(data: ArrayLike<number>, starts: ArrayLike<number>, T: number): Batch {
  const B = starts.length;
  const inputs = new Uint32Array(B * T);
  const targets = new Uint32Array(B * T);
  for (let b = 0; b < B; b++) {
    const s = starts[b];
    for (let t = 0; t < T; t++) {
      inputs[b * T + t] = data[s + t];
      targets[b * T + t] = data[s + t + 1];
    }
  }
  return { inputs, targets };
}

/**
 * Random starting offsets of the batch for `step`: uniform in [0, N − T − 1] like np.random.randint(0, N − T).
 * A pure function of (seed, stream, step), so batches do not depend on what ran before (resume is exact).
 */
export function batchStarts(seed: number, step: number, batchSize: number, numTokens: number, T: number, stream = STREAM_TRAIN_BATCH): Float64Array {
  const rng = rngFor(seed, stream, step);
  const hi = numTokens - T - 1;
  const out = new Float64Array(batchSize);
  for (let b = 0; b < batchSize; b++) out[b] = uniformInt(rng, 0, hi);
  return out;
}
