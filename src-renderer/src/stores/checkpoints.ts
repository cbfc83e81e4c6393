/**
 * The checkpoints browser's state: the chosen run's checkpoints (`checkpoints.list`), the two picked for a
 * side-by-side playground comparison, and the delete / export actions. Export: in the desktop app the main process's
 * save dialog picks the path (the bridge's chooseSavePath; the dialog asks before replacing a file); in a browser
 * the user types a path on the server's machine, and an existing file is replaced only after a second confirmation.
 */
import { defineStore } from 'pinia';
import { ref } from 'vue';
import type { CheckpointList } from '../../../src-main/api/areas/checkpoints';
import { api, ApiError } from '../api/client';

export type ExportOutcome =
  | { kind: 'done'; path: string; bytes: number; replaced: boolean }
  | { kind: 'exists'; path: string }
  | { kind: 'cancelled' };

/** The desktop app's save dialog, when the preload bridge offers it. */
function saveDialog(): ((suggestedName: string) => Promise<string | null>) | undefined {
  const b = typeof window === 'undefined' ? undefined : window.lmwb;
  return b?.chooseSavePath ? (name) => b.chooseSavePath!(name) : undefined;
}

export const useCheckpointsStore = defineStore('checkpoints', () => {
  const list = ref<CheckpointList | null>(null);
  const runId = ref<string | null>(null);
  const error = ref<string | null>(null);
  const loading = ref(false);
  /** Up to two checkpoint files picked for "compare in the playground" (a, then b). */
  const picked = ref<string[]>([]);

  async function load(id: string | null): Promise<void> {
    if (id !== runId.value) picked.value = [];
    runId.value = id;
    if (!id) {
      list.value = null;
      return;
    }
    loading.value = true;
    try {
      const r = await api().call('checkpoints.list', { id });
      if (runId.value === id) {
        list.value = r;
        picked.value = picked.value.filter((f) => r.checkpoints.some((c) => c.file === f));
        error.value = null;
      }
    } catch (e) {
      if (runId.value === id) {
        list.value = null;
        error.value = (e as Error).message;
      }
    } finally {
      loading.value = false;
    }
  }

  function togglePick(file: string): void {
    const p = picked.value.filter((f) => f !== file);
    if (p.length === picked.value.length) p.push(file);
    picked.value = p.slice(-2);
  }

  async function remove(file: string): Promise<void> {
    const id = runId.value;
    if (!id) return;
    list.value = await api().call('checkpoints.delete', { id, file });
    picked.value = picked.value.filter((f) => f !== file);
  }

  /** The name a save dialog suggests: `<run>-<file>`. */
  const suggestedName = (file: string) => `${runId.value}-${file}`;

  /** Desktop app: a save dialog, then the copy. Null when the app has no dialog (a browser): ask for a path. */
  async function exportWithDialog(file: string): Promise<ExportOutcome | null> {
    const dialog = saveDialog();
    const id = runId.value;
    if (!dialog || !id) return null;
    const path = await dialog(suggestedName(file));
    if (!path) return { kind: 'cancelled' };
    // The dialog has asked about replacing an existing file already.
    const r = await api().call('checkpoints.export', { id, file, dest: path, overwrite: true });
    return { kind: 'done', ...r };
  }

  /** Browser: copy to a typed path; an existing file comes back as `exists` unless `overwrite`. */
  async function exportTo(file: string, dest: string, overwrite: boolean): Promise<ExportOutcome> {
    const id = runId.value;
    if (!id) return { kind: 'cancelled' };
    try {
      const r = await api().call('checkpoints.export', { id, file, dest, overwrite });
      return { kind: 'done', ...r };
    } catch (e) {
      if (e instanceof ApiError && e.code === 'FILE_EXISTS') return { kind: 'exists', path: dest };
      throw e;
    }
  }

  return { list, runId, error, loading, picked, load, togglePick, remove, suggestedName, exportWithDialog, exportTo };
});
