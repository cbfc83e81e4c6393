/**
 * The Runs table's state: every run's summary (kept live from `runs` events), the filter, the sort and the
 * multi-selection. Rows are kept in a shallow array (5,000 runs must not become 5,000 deep-reactive proxies).
 */
import { defineStore } from 'pinia';
import { computed, ref, shallowRef, triggerRef } from 'vue';
import type { RunSummary, RunsEvent } from '../../../src-main/api/contract';
import { api } from '../api/client';

export type SortKey = 'name' | 'state' | 'sweep' | 'bestValLoss' | 'tokensPerS' | 'elapsedS' | 'restarts' | 'where' | 'created' | 'step' | `config:${string}`;

/** The value a row sorts by (null sorts last). */
export function sortValue(r: RunSummary, key: SortKey): string | number | null {
  if (key.startsWith('config:')) {
    const v = r.config[key.slice(7)] ?? r.sweepKeys[key.slice(7)];
    return typeof v === 'number' || typeof v === 'string' ? v : v === undefined || v === null ? null : JSON.stringify(v);
  }
  switch (key) {
    case 'sweep':
      return r.sweep ?? r.group;
    case 'state':
      return r.state;
    default:
      return r[key as keyof RunSummary] as string | number | null;
  }
}

/**
 * Filter text: space-separated terms, all must match. `state:running`, `tag:best`, `sweep:lr` match one field;
 * `key>value` / `key<value` compare a config value (`training.batch_size>32`); other terms match anywhere in
 * the name, id, sweep, group, state and tags.
 */
export function matchesFilter(r: RunSummary, filter: string): boolean {
  const terms = filter.trim().toLowerCase().split(/\s+/).filter(Boolean);
  if (!terms.length) return true;
  const hay = [r.name, r.id, r.sweep ?? '', r.group ?? '', r.state ?? '', ...r.tags].join(' ').toLowerCase();
  return terms.every((t) => {
    const cmp = /^([\w.]+)([<>]=?)(-?[\d.e+-]+)$/.exec(t);
    if (cmp) {
      const v = Number(r.config[cmp[1]] ?? r.sweepKeys[cmp[1]]);
      const x = Number(cmp[3]);
      if (!Number.isFinite(v)) return false;
      return cmp[2] === '>' ? v > x : cmp[2] === '>=' ? v >= x : cmp[2] === '<' ? v < x : v <= x;
    }
    const m = /^(state|tag|sweep|group|name):(.+)$/.exec(t);
    if (m) {
      const want = m[2];
      if (m[1] === 'state') return (r.state ?? 'unknown') === want;
      if (m[1] === 'tag') return r.tags.some((g) => g.toLowerCase() === want);
      if (m[1] === 'sweep') return (r.sweep ?? '').toLowerCase().includes(want);
      if (m[1] === 'group') return (r.group ?? '').toLowerCase().includes(want);
      return r.name.toLowerCase().includes(want);
    }
    return hay.includes(t);
  });
}

export const useRunsStore = defineStore('runs', () => {
  const rows = shallowRef<RunSummary[]>([]);
  const byId = new Map<string, number>();
  const loaded = ref(false);
  const error = ref<string | null>(null);
  const filter = ref('');
  const sortKey = ref<SortKey>('created');
  const sortDesc = ref(true);
  const selected = ref<Set<string>>(new Set());
  /** The row last clicked (anchor of shift-click range selection). */
  const anchor = ref<string | null>(null);

  function reindex(): void {
    byId.clear();
    rows.value.forEach((r, i) => byId.set(r.id, i));
  }

  async function load(): Promise<void> {
    try {
      rows.value = await api().call('runs.list');
      reindex();
      loaded.value = true;
      error.value = null;
    } catch (e) {
      error.value = (e as Error).message;
    }
  }

  function applyEvent(e: RunsEvent): void {
    if (!e.changed.length && !e.removed.length) return;
    const list = rows.value;
    for (const r of e.changed) {
      const i = byId.get(r.id);
      if (i === undefined) {
        byId.set(r.id, list.length);
        list.push(r);
      } else list[i] = r;
    }
    if (e.removed.length) {
      const gone = new Set(e.removed);
      rows.value = list.filter((r) => !gone.has(r.id));
      for (const id of gone) selected.value.delete(id);
      reindex();
    } else triggerRef(rows);
  }

  const visible = computed<RunSummary[]>(() => {
    const f = filter.value;
    const key = sortKey.value;
    const dir = sortDesc.value ? -1 : 1;
    const out = f.trim() ? rows.value.filter((r) => matchesFilter(r, f)) : [...rows.value];
    const vals = new Map(out.map((r) => [r.id, sortValue(r, key)]));
    return out.sort((a, b) => {
      const x = vals.get(a.id) ?? null;
      const y = vals.get(b.id) ?? null;
      if (x === y) return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
      if (x === null) return 1;
      if (y === null) return -1;
      return (x < y ? -1 : 1) * dir;
    });
  });

  function setSort(key: SortKey): void {
    if (sortKey.value === key) sortDesc.value = !sortDesc.value;
    else {
      sortKey.value = key;
      sortDesc.value = key === 'created' || key === 'tokensPerS';
    }
  }

  /** Click semantics of file managers: plain = only this, ctrl/cmd = toggle, shift = range from the anchor. */
  function click(id: string, mods: { ctrl?: boolean; shift?: boolean } = {}): void {
    const next = new Set(mods.ctrl || mods.shift ? selected.value : []);
    if (mods.shift && anchor.value) {
      const ids = visible.value.map((r) => r.id);
      const a = ids.indexOf(anchor.value);
      const b = ids.indexOf(id);
      if (a >= 0 && b >= 0) for (let i = Math.min(a, b); i <= Math.max(a, b); i++) next.add(ids[i]);
      else next.add(id);
    } else if (mods.ctrl) {
      if (next.has(id)) next.delete(id);
      else next.add(id);
      anchor.value = id;
    } else {
      next.add(id);
      anchor.value = id;
    }
    selected.value = next;
  }

  function toggle(id: string): void {
    const next = new Set(selected.value);
    if (next.has(id)) next.delete(id);
    else next.add(id);
    selected.value = next;
    anchor.value = id;
  }

  function selectAllVisible(): void {
    selected.value = new Set(visible.value.map((r) => r.id));
  }

  function clearSelection(): void {
    selected.value = new Set();
  }

  function get(id: string): RunSummary | undefined {
    const i = byId.get(id);
    return i === undefined ? undefined : rows.value[i];
  }

  /** Config keys worth a column: the fixed key values plus every swept key present. */
  const configColumns = computed<string[]>(() => {
    const keys = new Set<string>();
    for (const r of rows.value) for (const k of Object.keys(r.config)) keys.add(k);
    const swept = new Set<string>();
    for (const r of rows.value) for (const k of Object.keys(r.sweepKeys)) swept.add(k);
    const fixed = ['training.max_learning_rate', 'training.batch_size', 'model.d_model', 'model.num_layers'].filter((k) => keys.has(k));
    return [...new Set([...swept, ...fixed])];
  });

  return { rows, loaded, error, filter, sortKey, sortDesc, selected, visible, configColumns, load, applyEvent, setSort, click, toggle, selectAllVisible, clearSelection, get };
});
