/**
 * The New run form's state: the form description (fields from the config schema, presets), the chosen preset and
 * its resolved config (the baseline every field is compared with), what the user typed, and the backend's check of
 * the request those make (issues per field, resolved config, estimate), refreshed after a short pause in typing.
 */
import { defineStore } from 'pinia';
import { computed, ref, shallowRef } from 'vue';
import type { DeviceProbe, NewRunForm, RunCheck } from '../../../src-main/api/areas/new-run';
import type { DatasetSummary } from '../../../src-main/api/areas/datasets';
import { api } from '../api/client';
import { changedKeys, requestFor, textsOf, type FormRequest, type Texts } from '../lib/new-run-form';

const DEBOUNCE_MS = 250;

export const useNewRunStore = defineStore('new-run', () => {
  const form = shallowRef<NewRunForm | null>(null);
  /** The trainer preset the request sends, and the starting point picked (a preset or an ablation start). */
  const preset = ref('smoke');
  const start = ref('smoke');
  const baseline = shallowRef<Record<string, unknown> | null>(null);
  const baseTexts = ref<Texts>({});
  const texts = ref<Texts>({});
  const check = shallowRef<RunCheck | null>(null);
  const checking = ref(false);
  const device = shallowRef<DeviceProbe | null>(null);
  const deviceError = ref<string | null>(null);
  const datasets = shallowRef<DatasetSummary[]>([]);
  const dataset = ref('');
  const error = ref<string | null>(null);
  let seq = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;

  const fields = computed(() => form.value?.fields ?? []);
  const changed = computed(() => new Set(changedKeys(fields.value, baseTexts.value, texts.value)));
  const request = computed<FormRequest>(() => requestFor(preset.value, fields.value, baseTexts.value, texts.value));
  const issuesByKey = computed(() => {
    const m = new Map<string, RunCheck['issues']>();
    for (const i of check.value?.issues ?? []) m.set(i.key, [...(m.get(i.key) ?? []), i]);
    return m;
  });
  /** Issues about keys that are not a form field (an unknown key, the preset). */
  const otherIssues = computed(() => (check.value?.issues ?? []).filter((i) => !fields.value.some((f) => f.key === i.key)));

  async function init(params: Record<string, string>): Promise<void> {
    error.value = null;
    try {
      form.value ??= await api().call('newrun.form');
      datasets.value = await api().call('datasets.list').catch(() => []);
      // Back on the form without a preset or dataset asked for: keep the draft.
      if (!params.preset && !params.dataset && baseline.value) return validateNow();
      const known = (n: string | undefined) => !!n && (form.value!.presets.some((p) => p.name === n) || form.value!.starts.some((p) => p.name === n));
      await setPreset(known(params.preset) ? params.preset : start.value, false);
      if (params.dataset) pickDataset(params.dataset, false);
      validateNow();
      void api().call('newrun.device').then((r) => {
        device.value = r.device;
        deviceError.value = r.error;
        validateNow(); // the batch is now checked against the device's limits
      });
    } catch (e) {
      error.value = (e as Error).message;
    }
  }

  /**
   * Starts from a preset: its resolved config is the new baseline; what the user typed is dropped. An ablation
   * start is its trainer preset with the variant's overrides filled in, shown as changes.
   */
  async function setPreset(name: string, validate = true): Promise<void> {
    const r = await api().call('newrun.preset', { preset: name });
    preset.value = r.preset;
    start.value = name;
    baseline.value = r.config;
    const ws = form.value?.workspace;
    baseTexts.value = textsOf(fields.value, r.config, ws);
    texts.value = textsOf(fields.value, r.start ?? r.config, ws);
    dataset.value = '';
    if (validate) validateNow();
  }

  function setText(key: string, text: string): void {
    texts.value = { ...texts.value, [key]: text };
    schedule();
  }

  function reset(key: string): void {
    setText(key, baseTexts.value[key] ?? '');
  }

  function resetAll(): void {
    texts.value = { ...baseTexts.value };
    dataset.value = '';
    validateNow();
  }

  /** A prepared dataset: its token files and its tokenizer's vocab size (the trainer refuses a smaller vocab). */
  function pickDataset(name: string, validate = true): void {
    const d = datasets.value.find((x) => x.name === name);
    dataset.value = d ? name : '';
    if (d) {
      const next: Texts = { ...texts.value, 'model.vocab_size': String(d.vocabSize) };
      if (d.train) next['data.train'] = d.train;
      next['data.valid'] = d.valid ?? '';
      texts.value = next;
    } else if (!name) {
      texts.value = { ...texts.value, 'data.train': baseTexts.value['data.train'] ?? '', 'data.valid': baseTexts.value['data.valid'] ?? '', 'model.vocab_size': baseTexts.value['model.vocab_size'] ?? '' };
    }
    if (validate) schedule();
  }

  function schedule(): void {
    clearTimeout(timer);
    checking.value = true;
    timer = setTimeout(validateNow, DEBOUNCE_MS);
  }

  function validateNow(): void {
    clearTimeout(timer);
    const mine = ++seq;
    checking.value = true;
    api()
      .call('newrun.validate', request.value)
      .then((r) => {
        if (mine !== seq) return; // a newer check is on its way
        check.value = r;
        if (r.device) device.value = r.device;
        error.value = null;
      })
      .catch((e: Error) => {
        if (mine === seq) error.value = e.message;
      })
      .finally(() => {
        if (mine === seq) checking.value = false;
      });
  }

  /** Queues the run (the backend checks again and refuses a request with errors). Returns its id. */
  async function queue(): Promise<string> {
    clearTimeout(timer);
    return (await api().call('newrun.queue', request.value)).id;
  }

  return {
    form, preset, start, baseline, baseTexts, texts, check, checking, device, deviceError, datasets, dataset, error, fields, changed, request,
    issuesByKey, otherIssues, init, setPreset, setText, reset, resetAll, pickDataset, validateNow, queue,
  };
});
