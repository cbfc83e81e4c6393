/**
 * The backend's handlers for the queue panel area (src-main/api/areas/queue.ts). Thin: the order and every state
 * change are the queue's own (runs/queue.ts, runs/order.ts), under its workspace lock; resume and retry go through
 * the launcher so a queue worker runs.
 */
import type { QueueList, QueueRow } from '../../api/areas/queue';
import { FINISHED_STATES, type RunState } from '../../runs/format';
import { listRuns } from '../../runs/index';
import { moveInQueue, queueOrder, type QueuePlace } from '../../runs/order';
import { requestStop } from '../../runs/queue';
import { readConfig, readStatus, runDir } from '../../runs/read';
import { newestCheckpointStep } from '../../runs/worker';
import { UserError } from '../../util/errors';
import type { AreaHandlers, HandlerContext } from './context';

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const PANEL_ORDER: Partial<Record<RunState, number>> = { queued: 0, running: 1, paused: 2 };

/** The queue panel's rows: queued in worker order, running, paused, then the `finished` most recently ended. */
export function queueRows(workspace: string, finished: number): QueueRow[] {
  const all = listRuns(workspace).filter((r) => r.state !== 'unknown');
  const live = all.filter((r) => (r.state as RunState) in PANEL_ORDER).sort((a, b) => PANEL_ORDER[a.state as RunState]! - PANEL_ORDER[b.state as RunState]! || queueOrder(a, b));
  // Most recently finished first, by the index's `updated` (a finished run's last status write is its end), so a
  // workspace of thousands of finished runs costs no extra reads.
  const done = all
    .filter((r) => FINISHED_STATES.includes(r.state as RunState))
    .sort((a, b) => (b.updated ?? '').localeCompare(a.updated ?? '') || a.id.localeCompare(b.id))
    .slice(0, finished);
  let position = 0;
  return [...live, ...done].map((r): QueueRow => {
    const dir = runDir(workspace, r.id);
    const s = readStatus(dir);
    const cfg = readConfig(dir) ?? {};
    const section = (k: string) => (cfg[k] && typeof cfg[k] === 'object' ? (cfg[k] as Record<string, unknown>) : {});
    const batch = num(section('training').batch_size);
    const ctxLen = num(section('model').context_length);
    const resume = newestCheckpointStep(dir);
    const tokensPerStep = batch !== null && ctxLen !== null ? batch * ctxLen : null;
    const totalTokens = num(section('training').total_tokens);
    // Before the trainer has written total_steps: the config's rule (run-config.ts: steps = tokens / (batch · context)).
    const configSteps = num(section('training').max_steps) ?? (totalTokens !== null && tokensPerStep ? Math.max(1, Math.round(totalTokens / tokensPerStep)) : null);
    return {
      id: r.id,
      name: r.name,
      state: r.state as RunState,
      position: r.state === 'queued' ? ++position : null,
      step: num(s?.step),
      totalSteps: num(s?.total_steps) ?? configSteps,
      tokensPerS: num(s?.tokens_per_s),
      elapsedS: num(s?.elapsed_s),
      tokensPerStep,
      timeBudgetS: num(section('training').time_budget_s),
      where: s?.backend ?? null,
      gpu: s?.gpu ?? null,
      attempts: s?.attempts ?? 0,
      restarts: (s?.restarts ?? []).map((x) => ({ time: x.time, fromStep: x.from_step, reason: x.reason })),
      resumeStep: resume > 0 ? resume : null,
      sweep: r.sweep?.name ?? r.group ?? null,
      created: s?.created ?? null,
      started: s?.started ?? null,
      ended: s?.ended ?? null,
      error: s?.error ? { code: s.error.code, message: s.error.message } : null,
    };
  });
}

export function createQueueHandlers(ctx: HandlerContext): AreaHandlers {
  const stop = async (id: string, action: 'pause' | 'cancel') => {
    ctx.requireRun(id);
    const r = await requestStop(ctx.workspace, id, action);
    ctx.markDirty(id);
    return { id, state: r.state, requested: r.requested };
  };
  return {
    methods: {
      'queue.list': ({ finished }): QueueList => ({ rows: queueRows(ctx.workspace, finished), workerRunning: ctx.launcher.workerRunning }),
      'queue.move': async ({ id, to, ref }) => {
        ctx.requireRun(id);
        const place: QueuePlace = to === 'top' || to === 'bottom' ? { to } : { to, ref: ref! };
        const order = await moveInQueue(ctx.workspace, id, place);
        for (const x of order) ctx.markDirty(x);
        return { order };
      },
      'queue.cancel': ({ id }) => stop(id, 'cancel'),
      'queue.pause': ({ id }) => stop(id, 'pause'),
      'queue.resume': async ({ id }) => {
        ctx.requireRun(id);
        const s = readStatus(runDir(ctx.workspace, id));
        if (s && s.state !== 'paused' && s.state !== 'queued') {
          throw new UserError(`run ${id} is ${s.state}; resume takes a paused run (retry a failed or cancelled one)`, { code: 'QUEUE_CONFLICT', data: { id, state: s.state } });
        }
        return { id, state: await ctx.launcher.resume(id), requested: false };
      },
      'queue.retry': async ({ id }) => {
        ctx.requireRun(id);
        const s = readStatus(runDir(ctx.workspace, id));
        if (s && s.state !== 'failed' && s.state !== 'cancelled') {
          throw new UserError(`run ${id} is ${s.state}; retry takes a failed or cancelled run`, { code: 'QUEUE_CONFLICT', data: { id, state: s.state } });
        }
        const from = newestCheckpointStep(runDir(ctx.workspace, id));
        return { id, state: await ctx.launcher.resume(id), requested: false, fromStep: from > 0 ? from : null };
      },
    },
  };
}
