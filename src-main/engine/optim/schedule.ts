// Learning-rate schedule of CS336: linear warmup to max over warmup_iters, cosine decay from max to min until
// cosine_cycle_iters, then constant min.
export interface CosineSchedule {
  max_learning_rate: number;
  min_learning_rate: number;
  warmup_iters: number;
  cosine_cycle_iters: number;
}

export function learningRate(t: number, s: CosineSchedule): number {
  if (t < s.warmup_iters) return (t / s.warmup_iters) * s.max_learning_rate;
  if (t <= s.cosine_cycle_iters) {
    const span = Math.max(1, s.cosine_cycle_iters - s.warmup_iters);
    const progress = (t - s.warmup_iters) / span;
    return s.min_learning_rate + 0.5 * (1 + Math.cos(Math.PI * progress)) * (s.max_learning_rate - s.min_learning_rate);
  }
  return s.min_learning_rate;
}
