/**
 * The Datasets view's state: the workspace's prepared datasets, the preparation jobs of this backend session
 * (kept live from `datasets.jobs` events; a job that finishes reloads the list), decoded samples per dataset, and
 * the actions: prepare, cancel, choose a file (desktop dialog) and upload one (browser).
 */
import { defineStore } from 'pinia';
import { computed, ref } from 'vue';
import type { DatasetJob, DatasetSample, DatasetSummary, TokenizerChoice } from '../../../src-main/api/areas/datasets';
import type { ApiEvent } from '../../../src-main/api/contract';
import { api } from '../api/client';
import { uploadText } from '../lib/datasets-upload';
import { fmtBytes } from '../lib/datasets';

export interface PrepareRequest {
  name: string;
  train: string;
  valid?: string;
  tokenizer: TokenizerChoice;
  invalidUtf8: 'error' | 'replace';
}

export const useDatasetsStore = defineStore('datasets', () => {
  const list = ref<DatasetSummary[]>([]);
  const jobs = ref<Record<string, DatasetJob>>({});
  const samples = ref<Record<string, DatasetSample[]>>({});
  const loading = ref(false);
  const error = ref<string | null>(null);
  let listening = false;
  let uploadMax: number | null = null;
  const dismissed = new Set<string>();

  const names = computed(() => list.value.map((d) => d.name));
  /** Jobs, newest first. */
  const jobList = computed(() => Object.values(jobs.value).sort((a, b) => b.started.localeCompare(a.started)));

  function get(name: string): DatasetSummary | undefined {
    return list.value.find((d) => d.name === name);
  }

  async function load(): Promise<void> {
    loading.value = true;
    try {
      list.value = await api().call('datasets.list');
      error.value = null;
    } catch (e) {
      error.value = (e as Error).message;
    } finally {
      loading.value = false;
    }
  }

  function applyJobs(changed: DatasetJob[]): void {
    let finished = false;
    const next = { ...jobs.value };
    for (const j of changed) {
      if (dismissed.has(j.id)) continue;
      if (j.state === 'done' && next[j.id]?.state !== 'done') finished = true;
      next[j.id] = j;
    }
    jobs.value = next;
    if (finished) void load();
  }

  function onEvent(e: ApiEvent): void {
    if (e.type === 'datasets.jobs') applyJobs(e.jobs);
  }

  /** Loads the list and the jobs, and follows job events (once per page). */
  async function start(): Promise<void> {
    if (!listening) {
      listening = true;
      api().onEvent(onEvent);
    }
    await load();
    try {
      applyJobs(await api().call('datasets.jobs'));
    } catch (e) {
      error.value = (e as Error).message;
    }
  }

  async function prepare(req: PrepareRequest): Promise<DatasetJob> {
    const job = await api().call('datasets.prepare', req);
    applyJobs([job]);
    return job;
  }

  async function cancel(id: string): Promise<void> {
    applyJobs([await api().call('datasets.cancel', { id })]);
  }

  /** Deletes a cancelled or failed job's leftovers (its finished steps in staging) and hides it. */
  async function discard(job: DatasetJob): Promise<void> {
    await api().call('datasets.discard', { name: job.name });
    dismiss(job.id);
  }

  /** Hides a finished job from this page (the backend keeps its record for the session). */
  function dismiss(id: string): void {
    const next = { ...jobs.value };
    delete next[id];
    jobs.value = next;
    dismissed.add(id);
  }

  async function loadSamples(name: string, force = false): Promise<DatasetSample[]> {
    if (!force && samples.value[name]) return samples.value[name];
    const s = await api().call('datasets.samples', { name, count: 3, length: 96 });
    samples.value = { ...samples.value, [name]: s };
    return samples.value[name];
  }

  /** Desktop app: a file dialog; resolves to the chosen path or null. */
  function chooseFile(title: string): Promise<string | null> {
    return api().call('datasets.chooseFile', { title });
  }

  /** Browser: uploads the file to the server's workspace (checked against its limit first). */
  async function upload(file: File, onProgress: (sent: number, total: number) => void): Promise<string> {
    uploadMax ??= (await api().call('datasets.uploadLimit')).maxBytes;
    if (file.size > uploadMax) {
      throw new Error(`${file.name} is ${fmtBytes(file.size)}, over the ${fmtBytes(uploadMax)} upload limit: on the machine that runs lmwb serve, type the file's path instead (or raise LMWB_UPLOAD_MAX_BYTES)`);
    }
    return (await uploadText(file, onProgress).done).path;
  }

  return { list, jobs, jobList, samples, loading, error, names, get, load, start, applyJobs, prepare, cancel, loadSamples, dismiss, discard, chooseFile, upload };
});
