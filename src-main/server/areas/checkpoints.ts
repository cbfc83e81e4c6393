/**
 * The backend's handlers for the checkpoint browser area (src-main/api/areas/checkpoints.ts). Thin: listing, the
 * delete rule and the atomic export copy are runs/checkpoints.ts.
 */
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { CheckpointList } from '../../api/areas/checkpoints';
import { deleteCheckpoint, exportCheckpoint, listRunCheckpoints, type CheckpointInfo } from '../../runs/checkpoints';
import { readStatus, runDir } from '../../runs/read';
import type { AreaHandlers, HandlerContext } from './context';

/** The folder exports are suggested into (made on the first export there). */
const EXPORTS_DIR = 'exports';

export function createCheckpointsHandlers(ctx: HandlerContext): AreaHandlers {
  const exportDir = resolve(ctx.workspace, EXPORTS_DIR);
  const list = (id: string, checkpoints: CheckpointInfo[]): CheckpointList => ({
    id,
    checkpoints,
    state: readStatus(runDir(ctx.workspace, id))?.state ?? null,
    exportDir,
  });
  return {
    methods: {
      'checkpoints.list': ({ id }) => {
        ctx.requireRun(id);
        return list(id, listRunCheckpoints(runDir(ctx.workspace, id)));
      },
      'checkpoints.delete': async ({ id, file }) => {
        ctx.requireRun(id);
        const left = await deleteCheckpoint(ctx.workspace, id, file);
        ctx.markDirty(id);
        return list(id, left);
      },
      'checkpoints.export': async ({ id, file, dest, overwrite }) => {
        ctx.requireRun(id);
        // The suggested folder is ours to create; any other folder must exist already.
        const target = resolve(dest);
        if (target === exportDir || dirname(target) === exportDir) mkdirSync(exportDir, { recursive: true });
        return exportCheckpoint(ctx.workspace, id, file, dest, { overwrite });
      },
    },
  };
}
