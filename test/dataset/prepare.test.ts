import { describe, expect, it, afterAll } from 'vitest';
import { appendFileSync, lstatSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { prepareDataset, readDatasetManifest, defaultDatasetDir } from '../../src-main/dataset/prepare';
import { loadTokenizer, readTokenFile } from '../../src-main/tokenizer/index';
import { randomText, repoRoot, rng, scratch } from '../tokenizer/helpers';

const tmp = scratch('prepare');
afterAll(() => tmp.cleanup());

function makeText(seed: number, n: number): string {
  const rand = rng(seed);
  const docs: string[] = [];
  for (let i = 0; i < n; i++) docs.push(randomText(rand, 50).replaceAll('<|endoftext|>', ''));
  return docs.join('<|endoftext|>');
}

describe('dataset prepare', () => {
  const train = join(tmp.dir, 'stories-train.txt');
  const valid = join(tmp.dir, 'stories-valid.txt');
  writeFileSync(train, makeText(1, 3000));
  writeFileSync(valid, makeText(2, 300));
  const dir = join(tmp.dir, 'ds');
  const base = { train, valid, vocabSize: 400, specials: ['<|endoftext|>'], dir };

  it('runs every step, then reuses everything, then redoes only what a changed input affects', async () => {
    const first = await prepareDataset(base);
    expect(first.ran).toEqual(['tokenizer', 'encode train', 'encode valid']);
    const m = readDatasetManifest(dir);
    expect(m.tokenizer.vocab_size).toBe(400);
    const tok = loadTokenizer(join(dir, 'tokenizer'));
    expect(tok.hash()).toBe(m.tokenizer.hash);
    expect(Array.from(readTokenFile(join(dir, 'train.bin')))).toEqual(Array.from(tok.encode(readFileSync(train, 'utf8'))));
    expect(Array.from(readTokenFile(join(dir, 'valid.bin')))).toEqual(Array.from(tok.encode(readFileSync(valid, 'utf8'))));
    expect(m.splits.train.num_tokens).toBe(readTokenFile(join(dir, 'train.bin')).length);
    expect(lstatSync(join(dir, 'raw', 'train.txt')).isSymbolicLink()).toBe(true);
    expect(readlinkSync(join(dir, 'raw', 'valid.txt'))).toBe(valid);

    const again = await prepareDataset(base);
    expect(again.ran).toEqual([]);
    expect(readDatasetManifest(dir).created_at).toBe(m.created_at);

    appendFileSync(valid, 'one more story<|endoftext|>');
    expect((await prepareDataset(base)).ran).toEqual(['encode valid']);

    // A train change that leaves the merges as they were retrains, re-encodes train, and keeps valid.bin.
    appendFileSync(train, 'and another<|endoftext|>');
    expect((await prepareDataset(base)).ran).toEqual(['tokenizer', 'encode train']);
    // One that changes the merges redoes everything.
    appendFileSync(train, ' zzqq'.repeat(5000));
    expect((await prepareDataset(base)).ran).toEqual(['tokenizer', 'encode train', 'encode valid']);

    expect((await prepareDataset({ ...base, vocabSize: 420 })).ran).toEqual(['tokenizer', 'encode train', 'encode valid']);
  });

  it('rejects bad inputs with a clear message', async () => {
    const empty = join(tmp.dir, 'empty.txt');
    writeFileSync(empty, '');
    await expect(prepareDataset({ ...base, dir: join(tmp.dir, 'x'), valid: empty })).rejects.toThrow(/validation file .*empty/);
    await expect(prepareDataset({ ...base, dir: join(tmp.dir, 'x'), train: join(tmp.dir, 'nope.txt') })).rejects.toThrow(/training file not found/);
    await expect(prepareDataset({ ...base, dir: join(tmp.dir, 'x'), vocabSize: 200 })).rejects.toThrow(/too small/);
    await expect(prepareDataset({ ...base, dir: join(tmp.dir, 'x'), vocabSize: 70000 })).rejects.toThrow(/uint16/);
  });

  it('names the default folder after the training file', () => {
    expect(defaultDatasetDir('/d/TinyStoriesV2-GPT4-train.txt', 10000, '/w/datasets')).toBe('/w/datasets/TinyStoriesV2-GPT4-bpe10000');
    expect(defaultDatasetDir('owt_train.txt', 32000, 'datasets')).toBe('datasets/owt-bpe32000');
  });

  it('`lmwb dataset prepare` works from the command line and is idempotent', async () => {
    const run = async () => {
      const child = spawn(process.execPath, [join(repoRoot, 'bin', 'lmwb.mjs'), 'dataset', 'prepare', '--train', train, '--valid', valid, '--vocab-size', '300', '--out', join(tmp.dir, 'cli')]);
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
      const status = await new Promise<number | null>((r) => child.on('close', r));
      return { status, stderr };
    };
    const a = await run();
    expect(a.status, a.stderr).toBe(0);
    expect(a.stderr).toMatch(/ran tokenizer, encode train, encode valid/);
    const b = await run();
    expect(b.status, b.stderr).toBe(0);
    expect(b.stderr).toMatch(/nothing to do/);
  });
});
