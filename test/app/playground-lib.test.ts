// The playground's pure parts: form fields as numbers (empty or malformed is never silently 0), the settings
// schema's per-field messages (the CLI's ranges), and applying streamed deltas (a gap is reported, not glued on).
import { describe, expect, it } from 'vitest';
import { settingsErrors, DEFAULT_PLAYGROUND_SETTINGS, type PlaygroundJob } from '../../src-main/api/areas/playground';
import { applyUpdate, fieldNumber, settingsFrom } from '../../src-renderer/src/lib/playground';

describe('playground form', () => {
  it('reads fields strictly', () => {
    expect(fieldNumber(' 0.8 ')).toBe(0.8);
    expect(fieldNumber('')).toBeNaN();
    expect(fieldNumber('1e-3')).toBe(0.001);
    expect(fieldNumber('0.8x')).toBeNaN();
  });

  it('gives each bad field the rule it breaks, and none for the defaults', () => {
    expect(settingsErrors(DEFAULT_PLAYGROUND_SETTINGS)).toEqual({});
    const e = settingsErrors(settingsFrom({ temperature: '-1', topP: '0', topK: '1.5', maxNewTokens: '0', seed: '', numSamples: '17' }));
    expect(e).toEqual({
      temperature: 'temperature must be a number ≥ 0 (0 = greedy)',
      topP: 'top-p must be in (0, 1] (1 keeps every token)',
      topK: 'top-k must be an integer ≥ 0 (0 keeps every token)',
      maxNewTokens: 'max new tokens must be an integer ≥ 1',
      seed: 'the seed must be an integer ≥ 0',
      numSamples: 'the number of samples must be at most 16 here',
    });
    expect(settingsErrors({ ...DEFAULT_PLAYGROUND_SETTINGS, topP: 1, temperature: 0 })).toEqual({});
  });
});

describe('streamed deltas', () => {
  const job = (): PlaygroundJob => ({
    job: 'g1', prompt: 'x', settings: DEFAULT_PLAYGROUND_SETTINGS, started: '',
    panes: [{ pane: 'a', checkpoint: 'r/step_1.safetensors', run: 'r', step: 1, state: 'running', error: null, warning: null, tokenizer: null, precision: null, samples: [{ sample: 0, text: 'ab', tokens: 2, tokensPerS: 1, stopReason: null, saved: false }] }],
  });
  const upd = (from: number, text: string, state: 'running' | 'done' = 'running') => ({ job: 'g1', pane: 'a' as const, state, step: 1, error: null, warning: null, samples: [{ sample: 0, from, text, tokens: from + text.length, tokensPerS: 5, stopReason: state === 'done' ? ('eos' as const) : null }] });

  it('appends a delta that continues the text', () => {
    const j = job();
    expect(applyUpdate(j, upd(2, 'cd', 'done'))).toBe(true);
    expect(j.panes[0]).toMatchObject({ state: 'done', samples: [{ text: 'abcd', tokens: 4, stopReason: 'eos' }] });
  });

  it('reports a gap instead of gluing text on', () => {
    const j = job();
    expect(applyUpdate(j, upd(5, 'zz'))).toBe(false);
    expect(j.panes[0].samples[0].text).toBe('ab');
    expect(applyUpdate(j, { ...upd(2, 'c'), job: 'g0' })).toBe(true); // another job's update is ignored
    expect(j.panes[0].samples[0].text).toBe('ab');
  });
});
