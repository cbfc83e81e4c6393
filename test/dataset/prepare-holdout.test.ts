// Holding out the end of one text as the validation split: the two parts are exactly the text cut at a document
// boundary (just after an <|endoftext|>) near the fraction asked for; the token counts are those of the parts; a
// re-run reuses everything; another fraction cuts again; a validation text and a fraction together are refused,
// as are fractions out of range; a text with no boundary falls back to a newline, then a character boundary.
import { describe, expect, it, afterAll } from 'vitest';
import { lstatSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { prepareDataset, readDatasetManifest } from '../../src-main/dataset/prepare';
import { findCut } from '../../src-main/dataset/holdout';
import { loadTokenizer, readTokenFile } from '../../src-main/tokenizer/index';
import { scratch } from '../tokenizer/helpers';
import { stories } from './stories';

const tmp = scratch('prepare-holdout');
afterAll(() => tmp.cleanup());
const EOT = '<|endoftext|>';

describe('dataset prepare with a held-out validation split', () => {
  const text = stories(200_000, 31);
  const train = join(tmp.dir, 'one.txt');
  writeFileSync(train, text);
  const dir = join(tmp.dir, 'ds');
  const base = { train, vocabSize: 300, specials: [EOT], dir, workers: 0, validFraction: 0.1 };

  it('cuts at a document boundary near the fraction; the parts are the text; counts and re-runs are right', async () => {
    const r = await prepareDataset(base);
    expect(r.ran).toEqual(['split', 'tokenizer', 'encode train', 'encode valid']);
    const m = readDatasetManifest(dir);
    const a = readFileSync(join(dir, 'raw', 'train.txt'), 'utf8');
    const b = readFileSync(join(dir, 'raw', 'valid.txt'), 'utf8');
    expect(a + b).toBe(text);
    expect(a.endsWith(`${EOT}\n`)).toBe(true); // a whole document on each side
    expect(b.startsWith('Once upon a time')).toBe(true);
    expect(Math.abs(b.length - text.length * 0.1)).toBeLessThan(400); // within one story of 10%
    expect(lstatSync(join(dir, 'raw', 'train.txt')).isFile()).toBe(true);
    expect(m.holdout).toMatchObject({ valid_fraction: 0.1, cut: Buffer.byteLength(a), source: { path: train, size: text.length } });
    expect(m.sources.valid).toMatchObject({ path: 'raw/valid.txt', size: Buffer.byteLength(b) });
    const tok = loadTokenizer(join(dir, 'tokenizer'));
    expect(Array.from(readTokenFile(join(dir, 'valid.bin')))).toEqual(Array.from(tok.encode(b)));
    expect(m.splits.train.num_tokens).toBe(tok.encode(a).length);

    expect((await prepareDataset(base)).ran).toEqual([]);
    const again = await prepareDataset({ ...base, validFraction: 0.2 });
    expect(again.ran).toEqual(['split', 'tokenizer', 'encode train', 'encode valid']);
    expect(readFileSync(join(dir, 'raw', 'valid.txt'), 'utf8').length).toBeGreaterThan(b.length);
  });

  it('refuses a validation text with a fraction, and fractions out of range', async () => {
    await expect(prepareDataset({ ...base, valid: train })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    for (const f of [0, 0.6, -1, Number.NaN]) await expect(prepareDataset({ ...base, validFraction: f })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it('without specials cuts after a newline, without newlines at a character boundary', () => {
    const lines = join(tmp.dir, 'lines.txt');
    writeFileSync(lines, 'aaaa\nbbbb\ncccc\ndddd\n');
    expect(findCut(lines, 20, 0.3, [EOT])).toBe(15);
    const utf = join(tmp.dir, 'utf.txt');
    writeFileSync(utf, 'ééééé'); // 10 bytes, 2 per character
    const cut = findCut(utf, 10, 0.5, []);
    expect(cut % 2).toBe(0);
    expect(() => findCut(join(tmp.dir, 'lines.txt'), 20, 0.01, [EOT])).toThrow(/too short/);
  });
});
