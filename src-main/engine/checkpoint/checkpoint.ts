// Training checkpoints as safetensors. Model weights carry exactly the CS336 tensor names, so PyTorch users can
// `safetensors.torch.load_file` a checkpoint and load the non-`optimizer.` keys into a CS336 model; AdamW's
// moments are stored as `optimizer.exp_avg.<name>` / `optimizer.exp_avg_sq.<name>`. Metadata (strings, as the
// format requires): format, step (optimizer steps done), the run config, the model config, and the RNG state
// (seed and next step: batches are a pure function of them, so resuming replays exactly the same data), the
// training wall-clock so far, and `data_sha256`: the sha256 of the tensor bytes, verified on load, so a
// corrupt or truncated file is reported (CHECKPOINT_CORRUPT) instead of training on garbage. Files are written
// temp → fsync → rename (then the folder is fsynced), so a crash leaves the previous file or the new one.
import { closeSync, existsSync, fsyncSync, openSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { readSafetensors, writeSafetensors, f32Tensor, asF32, sha256OfTensors, dataSha256, type StTensor } from './safetensors';
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
  /** Training wall-clock seconds up to this step (continues across resumes; downtime excluded). */
  elapsedS?: number;
  /** Flat buffers in the runtime's layout. */
  params: Float32Array;
  m?: Float32Array;
  v?: Float32Array;
  /** Mixed precision: the dynamic loss scale and its good-step counter, so a resume continues exactly. */
  lossScale?: { scale: number; goodSteps: number };
  extra?: Record<string, string>;
}

/** Writes a checkpoint (temp file, fsync, rename, folder fsync); the tensors are views of the flat buffers (no copies). */
export function saveCheckpoint(path: string, layout: Pick<ParamLayout, 'slots'>, s: CheckpointState): void {
  const tensors: Array<[string, StTensor]> = [];
  const slice = (flat: Float32Array, off: number, n: number) => flat.subarray(off, off + n);
  for (const slot of layout.slots) tensors.push([slot.name, f32Tensor(slot.shape, slice(s.params, slot.offset, slot.numel))]);
  if (s.m && s.v) {
    for (const slot of layout.slots) tensors.push([`optimizer.exp_avg.${slot.name}`, f32Tensor(slot.shape, slice(s.m, slot.offset, slot.numel))]);
    for (const slot of layout.slots) tensors.push([`optimizer.exp_avg_sq.${slot.name}`, f32Tensor(slot.shape, slice(s.v, slot.offset, slot.numel))]);
  }
  const md: Record<string, string> = {
    format: CHECKPOINT_FORMAT,
    step: String(s.step),
    tokens_seen: String(s.tokensSeen),
    elapsed_s: String(s.elapsedS ?? 0),
    model_config: JSON.stringify(s.model),
    run_config: JSON.stringify(s.runConfig ?? null),
    rng: JSON.stringify(s.rng),
    ...(s.lossScale ? { loss_scale: JSON.stringify(s.lossScale) } : {}),
    ...(s.extra ?? {}),
    data_sha256: sha256OfTensors(tensors),
  };
  try {
    writeSafetensors(path, tensors, md);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOSPC' || code === 'EDQUOT') {
      const bytes = tensors.reduce((a, [, t]) => a + t.data.byteLength, 0);
      throw new UserError(
        `no space left on the disk for checkpoint ${path} (about ${Math.ceil(bytes / 2 ** 20)} MiB); the previous checkpoints are intact — free space or lower checkpoint.keep_last, then resume the run`,
        { code: 'DISK_FULL', data: { path, bytes }, cause: e },
      );
    }
    throw e;
  }
  fsyncDir(dirname(path));
}

function fsyncDir(dir: string): void {
  try {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    /* not every platform can fsync a folder; the rename is atomic regardless */
  }
}

const CKPT_RE = /^step_(\d+)\.safetensors$/;

export function checkpointName(step: number): string {
  return `step_${String(step).padStart(7, '0')}.safetensors`;
}

/** The checkpoints of a folder, oldest first (by step). */
export function listCheckpoints(dir: string): Array<{ path: string; step: number }> {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .map((f) => ({ f, m: CKPT_RE.exec(f) }))
    .filter((x) => x.m)
    .map((x) => ({ path: join(dir, x.f), step: Number(x.m![1]) }))
    .sort((a, b) => a.step - b.step);
}

/** Removes temporary files that a process killed mid-write left in a checkpoint folder. */
export function removeStaleTemporaries(dir: string): void {
  if (!existsSync(dir)) return;
  for (const f of readdirSync(dir)) if (/^\.step_\d+\.safetensors\.tmp-/.test(f)) rmSync(join(dir, f), { force: true });
}

/** Checks a checkpoint's data checksum; throws CHECKPOINT_CORRUPT when the file is damaged. */
export function verifyCheckpoint(path: string): void {
  let md: Record<string, string>;
  try {
    md = readSafetensors(path).metadata;
  } catch (e) {
    throw new UserError(`checkpoint ${path} is damaged: ${(e as Error).message}`, { code: 'CHECKPOINT_CORRUPT', data: { path }, cause: e });
  }
  if (md.format !== CHECKPOINT_FORMAT) throw new UserError(`${path} is not an LM Workbench checkpoint (format "${md.format ?? 'none'}")`, { code: 'CHECKPOINT_CORRUPT', data: { path } });
  if (md.data_sha256 && dataSha256(path) !== md.data_sha256) {
    throw new UserError(`checkpoint ${path} is damaged: its tensor data does not match the sha256 stored in it`, { code: 'CHECKPOINT_CORRUPT', data: { path } });
  }
}

export function loadCheckpoint(path: string, layoutFor: (m: ModelConfig) => ParamLayout): CheckpointState & { layout: ParamLayout } {
  verifyCheckpoint(path);
  const st = readSafetensors(path);
  const md = st.metadata;
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
      if (!t) throw new UserError(`checkpoint ${path} lacks tensor ${name}`, { code: 'CHECKPOINT_MISMATCH', data: { path, tensor: name } });
      if (t.shape.join(',') !== slot.shape.join(',')) throw new UserError(`checkpoint ${path}: ${name} has shape [${t.shape}], expected [${slot.shape}]`, { code: 'CHECKPOINT_MISMATCH', data: { path, tensor: name } });
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
    elapsedS: Number(md.elapsed_s ?? 0),
    lossScale: md.loss_scale ? (JSON.parse(md.loss_scale) as { scale: number; goodSteps: number }) : undefined,
    params,
    m,
    v,
  };
}
