// Run folders made from a config: unique readable ids, config.json that parses back to the same config, meta.json
// and status.json in the run-store formats, and a folder that already holds a run is never overwritten.
import { describe, it, expect, afterAll } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers';
import { parseRunConfig } from '../../src-main/engine/train/run-config';
import { createRunFolder, loadRunFolderConfig, rewriteRunConfig } from '../../src-main/engine/train/run-folder';
import { readMeta, readStatus, listRunIds } from '../../src-main/runs/read';
import { UserError } from '../../src-main/util/errors';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

const cfg = parseRunConfig({
  name: 'lr 3e-3/sweep',
  model: { vocab_size: 256, context_length: 16, d_model: 32, num_layers: 1, num_heads: 2, d_ff: 48 },
  data: { train: '/data/train.bin' },
  training: { batch_size: 2, total_tokens: 3200, max_learning_rate: 3e-3 },
});

describe('createRunFolder', () => {
  it('makes unique readable ids, config.json (resolved, parses back), meta.json and a queued status', () => {
    const now = new Date(2026, 2, 1, 10, 15, 0);
    const a = createRunFolder(tmp.path, cfg, { now, meta: { tags: ['lr'], sweep: { name: 'lr-coarse', keys: { 'training.max_learning_rate': 3e-3 } } } });
    const b = createRunFolder(tmp.path, cfg, { now });
    expect(a.id).toBe('lr-3e-3-sweep-20260301-101500');
    expect(b.id).toBe('lr-3e-3-sweep-20260301-101500-2');
    expect(listRunIds(tmp.path)).toEqual([a.id, b.id]);
    const json = JSON.parse(readFileSync(join(a.dir, 'config.json'), 'utf8'));
    expect(json.eval).toEqual({ interval: 500, batches: 20 }); // defaults filled in
    expect(json.divergence).toEqual({ enabled: true, factor: 2, patience: 10 });
    expect(json.steps).toBeUndefined(); // nothing derived
    expect(loadRunFolderConfig(a.dir)).toEqual(cfg);
    expect(readMeta(a.dir)).toMatchObject({ name: 'lr 3e-3/sweep', tags: ['lr'], sweep: { name: 'lr-coarse' } });
    expect(readStatus(a.dir)).toMatchObject({ state: 'queued', attempts: 0, restarts: [] });
  });

  it('names the folder by out_dir, and never overwrites a run', () => {
    const c = { ...cfg, out_dir: 'runs/fixed' };
    const f = createRunFolder(tmp.path, c);
    expect(f).toEqual({ id: 'fixed', dir: join(tmp.path, 'runs', 'fixed') });
    expect(() => createRunFolder(tmp.path, c)).toThrow(UserError);
    expect(createRunFolder(tmp.path, c, { reuse: true }).dir).toBe(f.dir);
    const more = parseRunConfig({ ...JSON.parse(readFileSync(join(f.dir, 'config.json'), 'utf8')), training: { ...cfg.training, total_tokens: undefined, max_steps: 500 } });
    expect(() => createRunFolder(tmp.path, { ...more, out_dir: 'runs/fixed' }, { reuse: true })).toThrow(/different config/);
    expect(rewriteRunConfig(f.dir, more)).toBe(true);
    expect(loadRunFolderConfig(f.dir).steps).toBe(500);
    expect(JSON.parse(readFileSync(join(f.dir, 'config.1.json'), 'utf8')).training.total_tokens).toBe(3200);
  });

  it('a folder without config.json is not a run', () => {
    expect(() => loadRunFolderConfig(join(tmp.path, 'nope'))).toThrow(/run folder not found/);
    expect(() => loadRunFolderConfig(tmp.path)).toThrow(/not a run folder/);
  });
});
