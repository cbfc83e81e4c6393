/**
 * The playground's pure helpers: the form's text fields as numbers (an empty or malformed field is NaN, which the
 * shared settings schema reports beside the field), and applying a streamed pane update to the job the view
 * holds (a delta that does not continue the text exactly is a gap: the caller refetches the job).
 */
import type { GenerationSettings, PaneUpdate, PlaygroundJob, SettingKey } from '../../../src-main/api/areas/playground';

export const SETTING_KEYS: SettingKey[] = ['temperature', 'topP', 'topK', 'maxNewTokens', 'seed', 'numSamples'];

/** A field's number: '' and anything Number() does not read fully are NaN (never silently 0). */
export function fieldNumber(s: string): number {
  const t = s.trim();
  return t === '' ? NaN : Number(t);
}

export function settingsFrom(fields: Record<SettingKey, string>): GenerationSettings {
  return Object.fromEntries(SETTING_KEYS.map((k) => [k, fieldNumber(fields[k])])) as unknown as GenerationSettings;
}

/** Applies one update in place; false when it does not continue what the job holds (refetch it). */
export function applyUpdate(job: PlaygroundJob, u: PaneUpdate): boolean {
  if (u.job !== job.job) return true;
  const pane = job.panes.find((p) => p.pane === u.pane);
  if (!pane) return false;
  pane.state = u.state;
  pane.step = u.step;
  pane.error = u.error;
  pane.warning = u.warning;
  let ok = true;
  for (const d of u.samples) {
    const s = pane.samples[d.sample];
    if (!s || d.from !== s.text.length) {
      ok = false;
      continue;
    }
    s.text += d.text;
    s.tokens = d.tokens;
    s.tokensPerS = d.tokensPerS;
    s.stopReason = d.stopReason;
  }
  return ok;
}
