// Which checkpoint a run continues from: the newest valid one of its folder (a damaged one is moved aside and
// reported, the one before it tried), or an explicit checkpoint or folder; and whether it may continue this
// run's config (model, optimizer state, seed). Runs before anything is written or allocated.
import { existsSync, renameSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { layoutParameters, parameterSpecs } from '../model/parameters';
import { loadCheckpoint, listCheckpoints, removeStaleTemporaries, type CheckpointState } from '../checkpoint/checkpoint';
import type { RunConfig } from './run-config';
import type { TrainEvent } from './events';
import { RUN_FILES } from '../../runs/format';
import { UserError } from '../../util/errors';

export type Resumed = CheckpointState & { path: string };

/**
 * The checkpoint to resume from: the newest valid one of a folder. A damaged one is renamed to
 * `<name>.corrupt`, reported through `warn`, and the one before it tried.
 */
export function findResume(runDir: string, resume: 'auto' | string | false | undefined, warn: (e: TrainEvent) => void): Resumed | undefined {
  if (resume === false) return undefined;
  const layoutFor = (m: RunConfig['model']) => layoutParameters(parameterSpecs(m));
  const explicit = resume !== undefined && resume !== 'auto';
  let dir = join(runDir, RUN_FILES.checkpoints);
  if (explicit) {
    const p = resolve(resume);
    if (!existsSync(p)) throw new UserError(`nothing to resume: ${p} does not exist`, { code: 'NOTHING_TO_RESUME', data: { path: p } });
    if (statSync(p).isFile()) return { ...loadCheckpoint(p, layoutFor), path: p };
    dir = existsSync(join(p, RUN_FILES.checkpoints)) ? join(p, RUN_FILES.checkpoints) : p;
  }
  if (!explicit) removeStaleTemporaries(dir); // only in the folder this run owns
  const list = listCheckpoints(dir);
  for (let i = list.length - 1; i >= 0; i--) {
    try {
      return { ...loadCheckpoint(list[i].path, layoutFor), path: list[i].path };
    } catch (e) {
      if (!(e instanceof UserError) || e.code !== 'CHECKPOINT_CORRUPT') throw e;
      const moved = `${list[i].path}.corrupt`;
      renameSync(list[i].path, moved);
      const prev = i > 0 ? list[i - 1].path : undefined;
      warn({
        type: 'warning', code: 'CHECKPOINT_CORRUPT',
        message: `${e.message}; moved it to ${moved} and ${prev ? `resuming from ${prev}` : 'starting from scratch (no earlier checkpoint)'}`,
        data: { path: list[i].path, moved_to: moved, ...(prev ? { using: prev } : {}) },
      });
    }
  }
  if (explicit) throw new UserError(`nothing to resume: no valid step_*.safetensors checkpoint in ${dir}`, { code: 'NOTHING_TO_RESUME', data: { dir } });
  return undefined;
}

export function checkResumable(r: Resumed, cfg: RunConfig): void {
  if (JSON.stringify(r.model) !== JSON.stringify(cfg.model)) {
    throw new UserError(`cannot resume from ${r.path}: the checkpoint's model config differs from this run's (${JSON.stringify(r.model)} vs ${JSON.stringify(cfg.model)})`, { code: 'RESUME_MISMATCH', data: { path: r.path, key: 'model' } });
  }
  if (!r.m || !r.v) throw new UserError(`cannot resume from ${r.path}: the checkpoint has no optimizer state (it was saved for inference only)`, { code: 'RESUME_MISMATCH', data: { path: r.path, key: 'optimizer' } });
  if (r.rng.seed !== cfg.training.seed) {
    throw new UserError(`cannot resume from ${r.path}: the checkpoint was trained with seed ${r.rng.seed}, this config has training.seed ${cfg.training.seed}`, { code: 'RESUME_MISMATCH', data: { path: r.path, key: 'training.seed', checkpoint: r.rng.seed, config: cfg.training.seed } });
  }
}
