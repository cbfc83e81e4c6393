/**
 * The queue panel's state: the backend's queue rows (`queue.list`: order, restarts, where, what a retry resumes
 * from), kept live by merging in the runs store's rows (step, tokens/s and state arrive in `runs` events) and by
 * re-reading the list when a run changes state, restarts or appears, or a queued run's status changes (its place;
 * coalesced). Actions (move, cancel, pause, resume,
 * retry) call the API and re-read.
 */
import { defineStore } from 'pinia';
import { computed, ref, shallowRef } from 'vue';
import type { QueueRow } from '../../../src-main/api/areas/queue';
import type { RunSummary } from '../../../src-main/api/contract';
import type { RunState } from '../../../src-main/runs/format';
import { api } from '../api/client';
import { useRunsStore } from './runs';

/** Applies a live summary (from `runs` events) over a queue row; the row's own order and details stay. */
export function mergeLive(row: QueueRow, live: RunSummary | undefined): QueueRow {
  if (!live) return row;
  return {
    ...row,
    state: live.state ?? row.state,
    step: live.step ?? row.step,
    totalSteps: live.totalSteps ?? row.totalSteps,
    tokensPerS: live.tokensPerS ?? row.tokensPerS,
    elapsedS: live.elapsedS ?? row.elapsedS,
    where: live.where ?? row.where,
  };
}

/**
 * What makes the queue list stale: a run's state or restart count, and for a queued run any status.json write
 * (`updated`: its priority changed, e.g. `lmwb queue move` in a terminal). A running run's progress writes do not
 * count: the live rows carry those.
 */
function keyOf(r: RunSummary): string {
  return `${r.state}|${r.restarts}|${r.state === 'queued' ? r.updated : ''}`;
}

export const useQueueStore = defineStore('queue', () => {
  const base = shallowRef<QueueRow[]>([]);
  const loaded = ref(false);
  const error = ref<string | null>(null);
  const busy = ref<Set<string>>(new Set());
  const workerRunning = ref(false);
  /** Per run: its key (see keyOf) when the list was read; a change re-reads the list. */
  let seen = new Map<string, string>();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let inflight: Promise<void> | undefined;

  async function load(): Promise<void> {
    if (inflight) return inflight;
    inflight = (async () => {
      try {
        const r = await api().call('queue.list', {});
        base.value = r.rows;
        workerRunning.value = r.workerRunning;
        seen = new Map(useRunsStore().rows.map((x) => [x.id, keyOf(x)]));
        loaded.value = true;
        error.value = null;
      } catch (e) {
        error.value = (e as Error).message;
      } finally {
        inflight = undefined;
      }
    })();
    return inflight;
  }

  /** Re-read soon (coalesced): called when the runs store shows a state change the list does not know yet. */
  function reloadSoon(ms = 150): void {
    if (timer) return;
    timer = setTimeout(() => {
      timer = undefined;
      void load();
    }, ms);
  }

  /** Called with the runs store's rows: a new run, or one whose key changed since the list was read, re-reads it. */
  function noticeRuns(rows: readonly RunSummary[]): void {
    if (!loaded.value) return;
    for (const r of rows) {
      if (r.state === null) continue;
      const key = seen.get(r.id);
      if (key === undefined || key !== keyOf(r)) {
        reloadSoon();
        return;
      }
    }
  }

  const rows = computed<QueueRow[]>(() => {
    const runs = useRunsStore();
    void runs.rows; // track live updates
    return base.value.map((r) => mergeLive(r, runs.get(r.id)));
  });
  const queued = computed(() => rows.value.filter((r) => r.state === 'queued'));

  async function act(id: string, fn: () => Promise<unknown>): Promise<void> {
    busy.value = new Set([...busy.value, id]);
    try {
      await fn();
      error.value = null;
    } finally {
      const next = new Set(busy.value);
      next.delete(id);
      busy.value = next;
      await load();
    }
  }

  /** Moves a queued run; the list shows the new order at once (then the backend's answer). */
  async function move(id: string, to: 'top' | 'bottom' | 'before' | 'after', ref?: string): Promise<void> {
    const ids = base.value.filter((r) => r.state === 'queued').map((r) => r.id);
    if (!ids.includes(id) || (ref !== undefined && (!ids.includes(ref) || ref === id))) return;
    await act(id, () => api().call('queue.move', { id, to, ...(ref !== undefined ? { ref } : {}) }));
  }

  /** One place up / down among the queued runs (the keyboard path of drag and drop). */
  async function step(id: string, dir: -1 | 1): Promise<void> {
    const ids = queued.value.map((r) => r.id);
    const i = ids.indexOf(id);
    const j = i + dir;
    if (i < 0 || j < 0 || j >= ids.length) return;
    await move(id, dir < 0 ? 'before' : 'after', ids[j]);
  }

  const cancel = (id: string) => act(id, () => api().call('queue.cancel', { id }));
  const pause = (id: string) => act(id, () => api().call('queue.pause', { id }));
  const resume = (id: string) => act(id, () => api().call('queue.resume', { id }));
  const retry = (id: string) => act(id, () => api().call('queue.retry', { id }));

  /** What the row's actions may do in its state. */
  function can(state: RunState): { cancel: boolean; pause: boolean; resume: boolean; retry: boolean } {
    return {
      cancel: state === 'queued' || state === 'running' || state === 'paused',
      pause: state === 'queued' || state === 'running',
      resume: state === 'paused',
      retry: state === 'failed' || state === 'cancelled',
    };
  }

  return { rows, queued, loaded, error, busy, workerRunning, load, reloadSoon, noticeRuns, move, step, cancel, pause, resume, retry, can };
});
