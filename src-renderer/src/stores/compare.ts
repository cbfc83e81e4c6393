/**
 * The Compare view's chart settings: x-axis, smoothing kind and weight, log y, target line, colour key and the
 * metric, remembered across visits (localStorage) and turned into the charts module's ChartSpec.
 */
import { defineStore } from 'pinia';
import { ref, watch } from 'vue';
import type { XAxis } from '../../../src-main/api/contract';
import type { Smoothing } from '../../../src-main/charts';

export type SmoothingKind = Smoothing['kind'];

export interface CompareSettings {
  metric: string;
  x: XAxis;
  smoothing: SmoothingKind;
  weight: number;
  window: number;
  logY: boolean;
  targetOn: boolean;
  target: number;
  colorBy: string;
}

export const DEFAULT_SETTINGS: CompareSettings = {
  metric: 'loss',
  x: 'step',
  smoothing: 'ema',
  weight: 0.6,
  window: 9,
  logY: false,
  targetOn: true,
  target: 1.45,
  colorBy: '',
};

/** The smoothing the charts module takes, from the settings. */
export function smoothingOf(s: CompareSettings): Smoothing {
  if (s.smoothing === 'none') return { kind: 'none' };
  if (s.smoothing === 'moving-average') return { kind: 'moving-average', window: s.window };
  return { kind: s.smoothing, weight: s.weight };
}

function loadSaved(): CompareSettings {
  try {
    const raw = typeof localStorage === 'undefined' ? null : localStorage.getItem('lmwb.compare');
    return raw ? { ...DEFAULT_SETTINGS, ...(JSON.parse(raw) as Partial<CompareSettings>) } : { ...DEFAULT_SETTINGS };
  } catch {
    return { ...DEFAULT_SETTINGS };
  }
}

export const useCompareStore = defineStore('compare', () => {
  const settings = ref<CompareSettings>(loadSaved());
  /** Runs hidden by a legend click. */
  const hidden = ref<Set<string>>(new Set());
  watch(
    settings,
    (s) => {
      if (typeof localStorage !== 'undefined') localStorage.setItem('lmwb.compare', JSON.stringify(s));
    },
    { deep: true },
  );
  function reset(): void {
    settings.value = { ...DEFAULT_SETTINGS };
  }
  return { settings, hidden, reset };
});
