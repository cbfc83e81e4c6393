// The §7 run presets: each parses into a valid run config, reads its data from the workspace it is given (never
// the current folder), and has the figures the assignment names.
import { describe, it, expect, afterAll } from 'vitest';
import { join } from 'node:path';
import { tempDir } from '../helpers';
import { preset, PRESETS, PRESET_NAMES } from '../../src-main/engine/train/presets';
import { parseRunConfig } from '../../src-main/engine/train/run-config';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

describe('presets', () => {
  it('every preset is a valid config with its data inside the workspace', () => {
    for (const name of PRESET_NAMES) {
      const c = parseRunConfig(preset(name, { workspace: tmp.path }));
      expect(c.data.train.startsWith(join(tmp.path, 'datasets')), name).toBe(true);
      expect(c.out_dir, name).toBeUndefined();
    }
    expect(PRESET_NAMES).toContain('cs336-tinystories');
  });

  it('the figures of the assignment', () => {
    const get = (n: string) => parseRunConfig(preset(n, { workspace: tmp.path }));
    const base = get('tinystories-base');
    expect(base.steps * base.training.batch_size * base.model.context_length).toBe(327_680_000);
    expect(base.model).toMatchObject({ vocab_size: 10000, context_length: 256, d_model: 512, d_ff: 1344, num_layers: 4, num_heads: 16 });
    expect(base.schedule.cosine_cycle_iters).toBe(base.steps); // the decay ends exactly at the last step
    expect(get('cs336-tinystories')).toEqual(base);
    const low = get('tinystories-lowres');
    expect(low.steps * low.training.batch_size * low.model.context_length).toBe(40_960_000);
    expect(PRESETS.find((p) => p.name === 'tinystories-lowres')?.target_val_loss).toBe(2.0);
    const owt = get('owt-main');
    expect(owt.model).toEqual({ ...base.model, vocab_size: 32000 });
    expect(owt.steps).toBe(base.steps);
    expect(owt.data.train).toBe(join(tmp.path, 'datasets', 'owt-bpe32000', 'train.bin'));
    const lb = get('leaderboard');
    expect(lb.training.time_budget_s).toBe(5400);
    expect(lb.model.vocab_size).toBe(32000);
  });
});
