// The Datasets view's pure helpers (src-renderer/src/lib/datasets.ts): the name suggested for an import matches
// what `lmwb dataset prepare` would pick, names are checked like the backend checks them, special tokens parse as
// typed, and progress figures format and clamp.
import { describe, expect, it } from 'vitest';
import { fmtAmount, fmtBytes, fmtEta, fmtRateUnit, nameProblem, parseSpecials, phaseLabel, progressFraction, suggestName } from '../../src-renderer/src/lib/datasets';
import { DatasetNameSchema, type TokenizerChoice } from '../../src-main/api/areas/datasets';
import { defaultDatasetDir } from '../../src-main/dataset/prepare';

describe('datasets view helpers', () => {
  it('suggests the name prepare would give, for each tokenizer choice', () => {
    const t: TokenizerChoice = { kind: 'train', vocabSize: 10000, specials: [] };
    expect(suggestName('/d/TinyStoriesV2-GPT4-train.txt', t)).toBe(defaultDatasetDir('/d/TinyStoriesV2-GPT4-train.txt', 10000, 'x').slice(2));
    expect(suggestName('data/uploads/owt_train.txt', { kind: 'bytes', specials: [] })).toBe('owt-bytes');
    expect(suggestName('C:\\texts\\my stories.txt', { kind: 'dataset', name: 'ts' }, () => 10000)).toBe('my_stories-bpe10000');
    expect(suggestName('/x/.hidden.txt', { kind: 'dataset', name: 'ts' })).toBe('hidden-ts');
    expect(DatasetNameSchema.safeParse(suggestName('/x/ä ö.txt', t)).success).toBe(true);
  });

  it('checks names as the API schema does, and taken names', () => {
    for (const n of ['ok', 'a.b-c_d', '../x', '.x', 'a/b', '']) {
      expect(nameProblem(n, []) === null).toBe(DatasetNameSchema.safeParse(n).success);
    }
    expect(nameProblem('ts', ['ts'])).toMatch(/exists/);
  });

  it('parses special tokens as typed and formats progress', () => {
    expect(parseSpecials(' <|endoftext|>, <|pad|>\n<|endoftext|> ')).toEqual(['<|endoftext|>', '<|pad|>']);
    expect(parseSpecials('')).toEqual([]);
    expect(fmtBytes(1_500_000)).toBe('1.5 MB');
    expect(fmtAmount(12_345, 'merges')).toBe('12.3k merges');
    expect(fmtRateUnit(2_000_000, 'bytes')).toBe('2.0 MB/s');
    expect(fmtRateUnit(null, 'bytes')).toBe('—');
    expect(fmtEta(75)).toBe('1m 15s');
    expect(progressFraction({ task: 'encode', done: 50, total: 200, unit: 'bytes', rate: null, etaS: null })).toBe(0.25);
    expect(progressFraction({ task: 'encode', done: 5, unit: 'bytes', rate: null, etaS: null })).toBeNull();
    expect(phaseLabel('encode valid')).toBe('Encode valid.bin');
  });
});
