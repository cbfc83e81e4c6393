/**
 * The order of the workspace queue: workers take queued runs by status.json `priority` (lower first; a run without
 * one counts as 0), then by id. Moving a run changes priorities only, under the workspace's queue lock (the lock
 * workers claim under), each status.json replaced atomically, so a worker sees the old order or the new one, never
 * half of it. A move writes one status.json where it can (a priority between its new neighbours) and renumbers the
 * queue only when there is no room between them.
 */
import { UserError } from '../util/errors';
import { listRuns, type RunSummary } from './index';
import { withQueueLock } from './queue';
import { readStatus, runDir } from './read';
import { updateStatus } from './status';

/** How workers order queued runs: priority (lower first, missing = 0), then id. */
export function queueOrder(a: Pick<RunSummary, 'id' | 'priority'>, b: Pick<RunSummary, 'id' | 'priority'>): number {
  return (a.priority ?? 0) - (b.priority ?? 0) || a.id.localeCompare(b.id);
}

/** Where to put a queued run: first, last, or just before / after another queued run. */
export type QueuePlace = { to: 'top' } | { to: 'bottom' } | { to: 'before'; ref: string } | { to: 'after'; ref: string };

/** The queued runs in the order workers take them (a fresh listing). */
function queued(workspace: string): RunSummary[] {
  return listRuns(workspace).filter((r) => r.state === 'queued').sort(queueOrder);
}

/**
 * The new order of `ids` with `id` moved to `place` (pure; `id` and `place.ref` must be in `ids`). Exported for
 * the tests and the UI's preview.
 */
export function reorder(ids: readonly string[], id: string, place: QueuePlace): string[] {
  const rest = ids.filter((x) => x !== id);
  let at: number;
  if (place.to === 'top') at = 0;
  else if (place.to === 'bottom') at = rest.length;
  else {
    const j = rest.indexOf(place.ref);
    if (j < 0) throw new Error(`reorder: ${place.ref} is not in the list`);
    at = place.to === 'before' ? j : j + 1;
  }
  return [...rest.slice(0, at), id, ...rest.slice(at)];
}

/** A priority strictly between a and b (either may be missing: before the first / after the last), or undefined. */
function between(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined && b === undefined) return 0;
  if (a === undefined) return b! - 1;
  if (b === undefined) return a + 1;
  const m = a + (b - a) / 2;
  return m > a && m < b ? m : undefined;
}

/**
 * Moves a queued run to `place` in the queue and returns the queued ids in their new order. Throws QUEUE_CONFLICT
 * when the run (or the reference run) is not queued.
 */
export async function moveInQueue(workspace: string, id: string, place: QueuePlace): Promise<string[]> {
  return withQueueLock(workspace, () => {
    const list = queued(workspace);
    const ids = list.map((r) => r.id);
    const notQueued = (x: string) => {
      const s = readStatus(runDir(workspace, x));
      if (!s) return new UserError(`no run "${x}" in this workspace`, { code: 'RUN_NOT_FOUND', data: { id: x } });
      return new UserError(`run ${x} is ${s.state}; only queued runs have a place in the queue (resume it first)`, { code: 'QUEUE_CONFLICT', data: { id: x, state: s.state } });
    };
    if (!ids.includes(id)) throw notQueued(id);
    if ((place.to === 'before' || place.to === 'after') && !ids.includes(place.ref)) throw notQueued(place.ref);
    if ((place.to === 'before' || place.to === 'after') && place.ref === id) return ids;
    const next = reorder(ids, id, place);
    if (next.every((x, i) => x === ids[i])) return ids;
    const prio = new Map(list.map((r) => [r.id, r.priority ?? 0]));
    const k = next.indexOf(id);
    const p = between(k > 0 ? prio.get(next[k - 1]) : undefined, k < next.length - 1 ? prio.get(next[k + 1]) : undefined);
    // Ties on priority are broken by id: a value strictly between the neighbours is needed to be sure of the place.
    if (p !== undefined) {
      updateStatus(runDir(workspace, id), { priority: p });
      return next;
    }
    // No room (equal neighbours, or float resolution used up): renumber the queue from its current first priority.
    // Integers from the old first priority keep new runs (priority = creation time) after the queue; where those
    // would not be exact any more, from 0.
    let base = Math.floor(Math.min(...list.map((r) => r.priority ?? 0)));
    if (!Number.isSafeInteger(base) || !Number.isSafeInteger(base + next.length)) base = 0;
    next.forEach((x, i) => {
      if (prio.get(x) !== base + i) updateStatus(runDir(workspace, x), { priority: base + i });
    });
    return next;
  });
}
