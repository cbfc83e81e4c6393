// dataset prepare's tokenizer sources: a copied tokenizer (from a dataset folder or a tokenizer folder) and the
// byte-level one encode exactly as that tokenizer does, are reused on a re-run and replaced when the choice
// changes; bad sources fail before any work. And decoded samples: deterministic, evenly spaced windows that
// decode to the source text.
import { describe, expect, it, afterAll } from 'vitest';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { byteLevelTokenizer, prepareDataset, readDatasetManifest } from '../../src-main/dataset/prepare';
import { datasetSamples, samplePositions } from '../../src-main/dataset/samples';
import { loadTokenizer, readTokenFile } from '../../src-main/tokenizer/index';
import { scratch } from '../tokenizer/helpers';
import { stories } from './stories';

const tmp = scratch('prepare-tok');
afterAll(() => tmp.cleanup());

describe('dataset prepare: copied and byte-level tokenizers', () => {
  const trainText = stories(120_000, 11);
  const validText = stories(20_000, 12);
  const train = join(tmp.dir, 'train.txt');
  const valid = join(tmp.dir, 'valid.txt');
  writeFileSync(train, trainText);
  writeFileSync(valid, validText);
  const specials = ['<|endoftext|>'];

  it('byte level: 256 bytes + specials, ids laid out like a trained tokenizer, reused on a re-run', async () => {
    const dir = join(tmp.dir, 'bytes');
    const r = await prepareDataset({ train, valid, specials, tokenizer: { kind: 'bytes' }, dir, workers: 0 });
    expect(r.ran).toEqual(['tokenizer', 'encode train', 'encode valid']);
    const m = readDatasetManifest(dir);
    expect(m.tokenizer.origin).toBe('bytes');
    expect(m.tokenizer.vocab_size).toBe(257);
    const tok = loadTokenizer(join(dir, 'tokenizer'));
    expect(tok.merges).toEqual([]);
    expect(tok.hash()).toBe(byteLevelTokenizer(specials).hash());
    const ids = readTokenFile(join(dir, 'train.bin'));
    expect(tok.decode(ids)).toBe(trainText);
    const eot = trainText.split('<|endoftext|>').length - 1;
    expect(ids.length).toBe(Buffer.byteLength(trainText) - eot * ('<|endoftext|>'.length - 1));
    expect(ids[trainText.indexOf('<|endoftext|>')]).toBe(0); // the special first, as a trained tokenizer has it
    expect((await prepareDataset({ train, valid, specials, tokenizer: { kind: 'bytes' }, dir })).ran).toEqual([]);
  });

  it('copies a dataset\'s tokenizer (same hash, same ids), reuses it, and re-trains when asked to', async () => {
    const src = join(tmp.dir, 'src');
    await prepareDataset({ train, vocabSize: 350, specials, dir: src, workers: 0 });
    const srcTok = loadTokenizer(join(src, 'tokenizer'));
    const dir = join(tmp.dir, 'copy');
    const r = await prepareDataset({ train: valid, specials: [], tokenizer: { kind: 'copy', from: src }, dir, workers: 0 });
    expect(r.ran).toEqual(['tokenizer', 'encode train']);
    const m = readDatasetManifest(dir);
    expect(m.tokenizer.origin).toBe('copied');
    expect(m.tokenizer.copied_from).toBe(join(src, 'tokenizer'));
    expect(m.tokenizer.hash).toBe(srcTok.hash());
    expect(m.tokenizer.special_tokens).toEqual(specials); // the source's own, not the (empty) list passed
    expect(Array.from(readTokenFile(join(dir, 'train.bin')))).toEqual(Array.from(srcTok.encode(validText)));
    // From the tokenizer folder itself: the same tokenizer, nothing to redo.
    expect((await prepareDataset({ train: valid, specials: [], tokenizer: { kind: 'copy', from: join(src, 'tokenizer') }, dir })).ran).toEqual([]);
    // Switching to a trained tokenizer of the same size is not mistaken for the copy.
    const trained = await prepareDataset({ train: valid, vocabSize: 350, specials, dir, workers: 0 });
    expect(trained.ran).toEqual(['tokenizer', 'encode train']);
    expect(readDatasetManifest(dir).tokenizer.origin).toBe('trained');
  });

  it('fails before any work on a missing copy source or a missing vocabulary size', async () => {
    const dir = join(tmp.dir, 'never');
    await expect(prepareDataset({ train, specials, tokenizer: { kind: 'copy', from: join(tmp.dir, 'nope') }, dir })).rejects.toMatchObject({ code: 'FILE_NOT_FOUND' });
    await expect(prepareDataset({ train, specials, dir })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(prepareDataset({ train, specials, vocabSize: 70_000, dir })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(existsSync(dir)).toBe(false);
  });
});

describe('decoded samples', () => {
  it('places windows evenly, first at 0 and last at the end, without duplicates', () => {
    expect(samplePositions(1000, 3, 100)).toEqual([0, 450, 900]);
    expect(samplePositions(1000, 1, 100)).toEqual([0]);
    expect(samplePositions(50, 3, 100)).toEqual([0]);
    expect(samplePositions(102, 5, 100)).toEqual([0, 1, 2]);
    expect(samplePositions(0, 3, 10)).toEqual([]);
  });

  it('decodes windows of each split with the dataset\'s tokenizer', async () => {
    const text = stories(30_000, 21);
    const f = join(tmp.dir, 's.txt');
    writeFileSync(f, text);
    const dir = join(tmp.dir, 'samples');
    await prepareDataset({ train: f, valid: f, vocabSize: 300, specials: ['<|endoftext|>'], dir, workers: 0 });
    const s = datasetSamples(dir, { count: 4, length: 32 });
    expect(s.map((x) => x.split)).toEqual(['train', 'train', 'train', 'train', 'valid', 'valid', 'valid', 'valid']);
    const ids = readTokenFile(join(dir, 'train.bin'));
    for (const x of s) {
      expect(x.ids).toEqual(Array.from(ids.subarray(x.offset, x.offset + 32)));
      expect(text.includes(x.text)).toBe(true);
    }
    expect(s[3].offset).toBe(ids.length - 32);
    expect(() => datasetSamples(dir, { splits: ['test'] })).toThrow(/no test split/);
  });
});
