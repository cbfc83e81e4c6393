/**
 * The playground's state: the checkpoints to pick from, the two panes' checkpoints (a and b, mirrored in the URL),
 * the prompt and settings as typed (validated by the API's own schema, messages beside the fields), the current
 * job with its streamed text (kept live from `generation` events; a gap refetches the job) and the generation
 * worker's state (a restart is said in the view).
 */
import { defineStore } from 'pinia';
import { computed, ref } from 'vue';
import {
  DEFAULT_PLAYGROUND_SETTINGS, settingsErrors, type Pane, type PlaygroundJob, type PlaygroundRun, type PlaygroundStatus, type SettingKey,
} from '../../../src-main/api/areas/playground';
import { api } from '../api/client';
import { applyUpdate, settingsFrom, SETTING_KEYS } from '../lib/playground';

export const usePlaygroundStore = defineStore('playground', () => {
  const runs = ref<PlaygroundRun[]>([]);
  const refs = ref<Record<Pane, string>>({ a: '', b: '' });
  const prompt = ref('Once upon a time');
  const fields = ref<Record<SettingKey, string>>(Object.fromEntries(SETTING_KEYS.map((k) => [k, String(DEFAULT_PLAYGROUND_SETTINGS[k])])) as Record<SettingKey, string>);
  const job = ref<PlaygroundJob | null>(null);
  const worker = ref<PlaygroundStatus | null>(null);
  const error = ref<string | null>(null);
  let listening = false;

  const settings = computed(() => settingsFrom(fields.value));
  const errors = computed(() => settingsErrors(settings.value));
  const valid = computed(() => Object.keys(errors.value).length === 0);
  const generating = computed(() => !!job.value?.panes.some((p) => p.state === 'loading' || p.state === 'running'));

  async function refetch(id: string): Promise<void> {
    try {
      const j = await api().call('playground.job', { job: id });
      if (job.value?.job === id) job.value = j;
    } catch (e) {
      error.value = (e as Error).message;
    }
  }

  function listen(): void {
    if (listening) return;
    listening = true;
    api().onEvent((e) => {
      if (e.type === 'generation') {
        const j = job.value;
        if (!j) return;
        let gap = false;
        for (const u of e.updates) if (!applyUpdate(j, u)) gap = true;
        if (gap) void refetch(j.job);
      } else if (e.type === 'generation-worker') worker.value = e.status;
      else if (e.type === 'runs') reloadSoon();
    });
  }

  // Runs change as they train (a new checkpoint): re-read the list at most every 5 s.
  let reloadTimer: ReturnType<typeof setTimeout> | undefined;
  function reloadSoon(): void {
    if (reloadTimer) return;
    reloadTimer = setTimeout(() => {
      reloadTimer = undefined;
      void api().call('playground.checkpoints').then((r) => (runs.value = r), () => undefined);
    }, 5000);
  }

  async function load(): Promise<void> {
    listen();
    try {
      const [r, w] = await Promise.all([api().call('playground.checkpoints'), api().call('playground.status')]);
      runs.value = r;
      worker.value = w;
      error.value = null;
    } catch (e) {
      error.value = (e as Error).message;
    }
  }

  async function generate(): Promise<void> {
    if (!valid.value) return;
    const panes = (['a', 'b'] as const).filter((p) => refs.value[p]).map((pane) => ({ pane, checkpoint: refs.value[pane] }));
    if (!panes.length) {
      error.value = 'pick a checkpoint first';
      return;
    }
    error.value = null;
    try {
      job.value = await api().call('playground.generate', { prompt: prompt.value, settings: settings.value, panes });
    } catch (e) {
      error.value = (e as Error).message;
    }
  }

  async function stop(): Promise<void> {
    const j = job.value;
    if (!j) return;
    try {
      await api().call('playground.stop', { job: j.job });
      await refetch(j.job);
    } catch (e) {
      error.value = (e as Error).message;
    }
  }

  async function save(pane: Pane, sample: number): Promise<string> {
    const j = job.value;
    if (!j) throw new Error('nothing generated yet');
    const r = await api().call('playground.save', { job: j.job, pane, sample });
    const s = j.panes.find((p) => p.pane === pane)?.samples[sample];
    if (s) s.saved = true;
    return `saved to runs/${r.run}/${r.file}`;
  }

  return { runs, refs, prompt, fields, job, worker, error, settings, errors, valid, generating, load, generate, stop, save };
});
