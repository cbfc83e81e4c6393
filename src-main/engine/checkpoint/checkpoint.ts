// Training checkpoints as safetensors. Model weights carry exactly the CS336 tensor names, so PyTorch users can
// `safetensors.torch.load_file` a checkpoint and load the non-`optimizer.` keys into a CS336 model; AdamW's
// moments are stored as `optimizer.exp_avg.<name>` / `optimizer.exp_avg_sq.<name>`. Metadata (strings, as the
// format requires): format, step (optimizer steps done), the run config, the model config, and the RNG state
// (seed and next step: batches are a pure function of them, so resuming replays exactly the same data).
import { readSafetensors, writeSafetensors, f32Tensor, asF32, type StTensor } from './safetensors';
import type { ParamLayout } from '../model/parameters';
import { parseModelConfig, type ModelConfig } from '../model/config';
import { UserError } from '../../util/errors';

export const CHECKPOINT_FORMAT = 'lmwb-checkpoint-1';

export interface CheckpointState {
  step: number;
  model: ModelConfig;
  runConfig?: unknown;
  rng: { seed: number; next_step: number };
  tokensSeen: number;
  /** Flat buffers in the runtime's layout. */
  params: Float32Array;
  m?: Float32Array;
  v?: Float32Array;
  /** Mixed precision: the dynamic loss scale and its good-step counter, so a resume continues exactly. */
  lossScale?: { scale: number; goodSteps: number };
  extra?: Record<string, string>;
}

export function saveCheckpoint(path: string, layout: ParamLayout, s: CheckpointState): void {
  const tensors: Array<[string, StTensor]> = [];
  const slice = (flat: Float32Array, off: number, n: number) => flat.slice(off, off + n);
  for (const slot of layout.slots) tensors.push([slot.name, f32Tensor(slot.shape, slice(s.params, slot.offset, slot.numel))]);
  if (s.m && s.v) {
    for (const slot of layout.slots) tensors.push([`optimizer.exp_avg.${slot.name}`, f32Tensor(slot.shape, slice(s.m, slot.offset, slot.numel))]);
    for (const slot of layout.slots) tensors.push([`optimizer.exp_avg_sq.${slot.name}`, f32Tensor(slot.shape, slice(s.v, slot.offset, slot.numel))]);
  }
  writeSafetensors(path, tensors, {
    format: CHECKPOINT_FORMAT,
    step: String(s.step),
    tokens_seen: String(s.tokensSeen),
    model_config: JSON.stringify(s.model),
    run_config: JSON.stringify(s.runConfig ?? null),
    rng: JSON.stringify(s.rng),
    ...(s.lossScale ? { loss_scale: JSON.stringify(s.lossScale) } : {}),
    ...(s.extra ?? {}),
  });
}

export function loadCheckpoint(path: string, layoutFor: (m: ModelConfig) => ParamLayout): CheckpointState & { layout: ParamLayout } {
  const st = readSafetensors(path);
  const md = st.metadata;
  if (md.format !== CHECKPOINT_FORMAT) throw new UserError(`${path} is not an LM Workbench checkpoint (format "${md.format ?? 'none'}")`);
  const model = parseModelConfig(JSON.parse(md.model_config), 'checkpoint.model_config');
  const layout = layoutFor(model);
  const params = new Float32Array(layout.totalFloats);
  const hasOpt = st.tensors.has(`optimizer.exp_avg.${layout.slots[0].name}`);
  const m = hasOpt ? new Float32Array(layout.totalFloats) : undefined;
  const v = hasOpt ? new Float32Array(layout.totalFloats) : undefined;
  for (const slot of layout.slots) {
    const fill = (dst: Float32Array | undefined, name: string) => {
      if (!dst) return;
      const t = st.tensors.get(name);
      if (!t) throw new UserError(`checkpoint ${path} lacks tensor ${name}`);
      if (t.shape.join(',') !== slot.shape.join(',')) throw new UserError(`checkpoint ${path}: ${name} has shape [${t.shape}], expected [${slot.shape}]`);
      dst.set(asF32(t), slot.offset);
    };
    fill(params, slot.name);
    fill(m, `optimizer.exp_avg.${slot.name}`);
    fill(v, `optimizer.exp_avg_sq.${slot.name}`);
  }
  return {
    layout,
    step: Number(md.step),
    model,
    runConfig: JSON.parse(md.run_config ?? 'null'),
    rng: JSON.parse(md.rng) as { seed: number; next_step: number },
    tokensSeen: Number(md.tokens_seen ?? 0),
    lossScale: md.loss_scale ? (JSON.parse(md.loss_scale) as { scale: number; goodSteps: number }) : undefined,
    params,
    m,
    v,
  };
}
