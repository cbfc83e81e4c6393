// Replays the reference `train_run` case: the given batches, schedule, clipping and AdamW from given weights,
// returning the loss of every step.
import type { Gpu } from '../gpu/device';
import { parseModelConfig } from '../model/config';
import { TransformerRuntime } from '../model/transformer';
import { learningRate } from '../optim/schedule';
import { batchFromStarts } from '../data/batch';

export interface ReferenceRun {
  config: Record<string, unknown>;
  data: Uint32Array;
  batchStarts: Uint32Array;
  steps: number;
  batchSize: number;
  init: Map<string, Float32Array>;
  precision?: 'f32' | 'mixed';
}

const MODEL_KEYS = ['vocab_size', 'context_length', 'd_model', 'num_layers', 'num_heads', 'd_ff', 'rope_theta', 'rmsnorm_eps', 'norm', 'pos', 'ffn', 'tie_embeddings'];

export async function runReferenceTraining(gpu: Gpu, r: ReferenceRun): Promise<Float32Array> {
  const c = r.config as Record<string, number & string & number[]>;
  const model = parseModelConfig(Object.fromEntries(Object.entries(r.config).filter(([k]) => MODEL_KEYS.includes(k))), 'config');
  const T = model.context_length;
  const rt = new TransformerRuntime(gpu, model, {
    batchSize: r.batchSize,
    seqLen: T,
    training: true,
    maxGradNorm: c.max_l2_norm,
    adam: { beta1: c.betas[0], beta2: c.betas[1], eps: c.eps, weightDecay: c.weight_decay },
    precision: r.precision ?? 'f32',
  });
  try {
    const flat = new Float32Array(rt.layout.totalFloats);
    for (const s of rt.layout.slots) {
      const w = r.init.get(s.name);
      if (!w) throw new Error(`train_run case lacks init.${s.name}`);
      flat.set(w, s.offset);
    }
    rt.setParameters(flat);
    const losses = new Float32Array(r.steps);
    for (let s = 0; s < r.steps; s++) {
      const starts = r.batchStarts.subarray(s * r.batchSize, (s + 1) * r.batchSize);
      const b = batchFromStarts(r.data, starts, T);
      rt.setBatch(b.inputs, b.targets);
      rt.trainStep(learningRate(s, c as unknown as Parameters<typeof learningRate>[1]), s + 1);
      losses[s] = await rt.readLoss();
    }
    await gpu.sync();
    return losses;
  } finally {
    rt.destroy();
  }
}
