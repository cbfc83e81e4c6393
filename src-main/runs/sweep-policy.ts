/**
 * Sweep rules the queue worker applies when a run finishes. lr-edge: once a rung of the doubling ladder diverges,
 * the rungs with a larger lr that are still queued (or paused) are cancelled — the edge is found, training past it
 * only burns GPU time. Runs the user already started elsewhere are left alone.
 */
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { RunState } from './format';
import { readMeta, readStatus, runDir } from './read';
import { updateStatus } from './status';
import { withQueueLock } from './queue';
import { readSweep } from './sweeps';
import { writeFileAtomic } from '../util/atomic-write';
import { STORE_FILES } from './store';

export async function afterRunFinished(workspace: string, id: string, state: RunState): Promise<{ ids: string[]; reason: string }> {
  const meta = readMeta(runDir(workspace, id));
  const sweep = meta?.sweep ? readSweep(workspace, meta.sweep.name) : undefined;
  const key = sweep?.rules?.stop_when_diverged;
  if (state !== 'diverged' || !sweep || !key || !meta?.sweep) return { ids: [], reason: '' };
  const edge = meta.sweep.keys[key];
  if (typeof edge !== 'number') return { ids: [], reason: '' };
  const reason = `run ${id} diverged at ${key}=${edge}; higher rungs of sweep ${sweep.name} cancelled`;
  const ids = await withQueueLock(workspace, () => {
    const out: string[] = [];
    for (const r of sweep.runs) {
      if (r.id === id) continue;
      const dir = runDir(workspace, r.id);
      const v = readMeta(dir)?.sweep?.keys[key];
      const s = readStatus(dir);
      if (typeof v !== 'number' || v <= edge || !s) continue;
      if (s.state === 'queued' || s.state === 'paused') {
        updateStatus(dir, { state: 'cancelled', ended: new Date().toISOString(), error: { code: 'ABORTED', message: reason } });
        out.push(r.id);
      } else if (s.state === 'running' && s.host === hostname()) {
        // A higher rung already training under another worker: ask that worker to cancel it.
        writeFileAtomic(join(dir, STORE_FILES.request), `${JSON.stringify({ action: 'cancel', time: new Date().toISOString() })}\n`);
        out.push(r.id);
      }
    }
    return out;
  });
  return { ids, reason };
}
