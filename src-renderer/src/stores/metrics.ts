/**
 * Metrics of the runs on screen: each run's metrics.jsonl records, fetched once and then kept current by the
 * backend's batched `metrics` pushes (appended exactly: a chunk applies only at the byte offset we hold, else the
 * run is fetched again). Views say which runs they show (`want`); the store subscribes to their union.
 */
import { defineStore } from 'pinia';
import { markRaw, ref } from 'vue';
import type { MetricsChunk } from '../../../src-main/api/contract';
import type { MetricRecord } from '../../../src-main/runs/format';
import { api } from '../api/client';

export interface RunMetrics {
  records: MetricRecord[];
  offset: number;
}

export const useMetricsStore = defineStore('metrics', () => {
  /** Raw (non-reactive) per-run data; `version` bumps on any change, per run in `versions`. */
  const data = new Map<string, RunMetrics>();
  const version = ref(0);
  const versions = ref<Record<string, number>>({});
  const wants = new Map<string, string[]>();
  const loading = new Map<string, Promise<void>>();

  function bump(id: string): void {
    versions.value = { ...versions.value, [id]: (versions.value[id] ?? 0) + 1 };
    version.value++;
  }

  async function fetchRun(id: string): Promise<void> {
    const running = loading.get(id);
    if (running) return running;
    const p = (async () => {
      const chunk = await api().call('runs.metrics', { id, from: 0 });
      data.set(id, markRaw({ records: chunk.records, offset: chunk.offset }));
      bump(id);
    })().finally(() => loading.delete(id));
    loading.set(id, p);
    return p;
  }

  function resubscribe(): void {
    const ids = new Set<string>();
    for (const list of wants.values()) for (const id of list) ids.add(id);
    api().subscribe([...ids].filter((id) => data.has(id)).map((id) => ({ id, from: data.get(id)!.offset })));
  }

  /** `owner` (a view) shows these runs: fetch what is missing, then follow them live. */
  async function want(owner: string, ids: string[]): Promise<void> {
    wants.set(owner, [...ids]);
    await Promise.all(ids.filter((id) => !data.has(id)).map((id) => fetchRun(id).catch(() => undefined)));
    resubscribe();
  }

  function release(owner: string): void {
    wants.delete(owner);
    const still = new Set([...wants.values()].flat());
    for (const id of [...data.keys()]) if (!still.has(id)) data.delete(id);
    resubscribe();
  }

  /** Applies pushed chunks; returns the ids whose data changed. */
  function applyChunks(chunks: MetricsChunk[]): string[] {
    const changed: string[] = [];
    for (const c of chunks) {
      const cur = data.get(c.id);
      if (!cur) continue;
      if (c.reset) {
        data.set(c.id, markRaw({ records: c.records, offset: c.offset }));
      } else if (c.from === cur.offset) {
        for (const r of c.records) cur.records.push(r);
        cur.offset = c.offset;
      } else if (c.from < cur.offset && c.offset <= cur.offset) {
        continue; // already have it (a push racing our fetch)
      } else {
        void fetchRun(c.id).then(resubscribe);
        continue;
      }
      changed.push(c.id);
      bump(c.id);
    }
    return changed;
  }

  function get(id: string): RunMetrics | undefined {
    return data.get(id);
  }

  return { version, versions, want, release, applyChunks, get, fetchRun };
});
