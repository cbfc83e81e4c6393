// Decoded samples of a prepared dataset: a few windows of its token files (train.bin / valid.bin) decoded with the
// dataset's own tokenizer, so a user sees what the model will read. Positions are deterministic (evenly spaced
// over the file, the first at token 0 and the last ending at the file's end), and only the windows are read from
// disk (token files can be many GB).
import { closeSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../util/errors';
import { loadTokenizer, type Tokenizer } from '../tokenizer/index';
import { readDatasetManifest } from './prepare';

export interface DecodedSample {
  split: string;
  /** The window's first token, counted from the start of the split's token file. */
  offset: number;
  /** The token ids of the window. */
  ids: number[];
  /** Each token decoded on its own (a token that is part of a multi-byte character shows as U+FFFD). */
  pieces: string[];
  /** The window decoded as a whole (invalid UTF-8 at its edges becomes U+FFFD). */
  text: string;
}

export interface SampleOptions {
  /** Windows per split (default 3). */
  count?: number;
  /** Tokens per window (default 96). */
  length?: number;
  /** Which splits (default: every split of the dataset, train first). */
  splits?: string[];
}

/** The offsets of `count` windows of `length` tokens, evenly spaced over `numTokens` tokens. */
export function samplePositions(numTokens: number, count: number, length: number): number[] {
  if (numTokens <= 0 || count <= 0) return [];
  const len = Math.min(length, numTokens);
  const span = numTokens - len;
  if (count === 1 || span === 0) return [0];
  const out = new Set<number>();
  for (let i = 0; i < count; i++) out.add(Math.round((i * span) / (count - 1)));
  return [...out];
}

function readWindow(path: string, offset: number, length: number): Uint16Array {
  const buf = Buffer.alloc(length * 2);
  const fd = openSync(path, 'r');
  try {
    let got = 0;
    while (got < buf.length) {
      const n = readSync(fd, buf, got, buf.length - got, offset * 2 + got);
      if (n === 0) break;
      got += n;
    }
    return new Uint16Array(new Uint8Array(buf.subarray(0, got - (got % 2))).buffer);
  } finally {
    closeSync(fd);
  }
}

/** Decodes windows of a dataset's token files with its tokenizer (checked against the manifest's hash). */
export function datasetSamples(dir: string, o: SampleOptions = {}): DecodedSample[] {
  const m = readDatasetManifest(dir);
  const count = Math.max(0, Math.min(o.count ?? 3, 50));
  const length = Math.max(1, Math.min(o.length ?? 96, 4096));
  const tokDir = join(dir, m.tokenizer.dir);
  let tokenizer: Tokenizer;
  try {
    tokenizer = loadTokenizer(tokDir);
  } catch (e) {
    throw new UserError(`the tokenizer of dataset ${m.name} cannot be read (${(e as Error).message}); prepare the dataset again`, { code: 'FILE_INVALID', data: { path: tokDir } });
  }
  if (tokenizer.hash() !== m.tokenizer.hash) {
    throw new UserError(`the tokenizer in ${tokDir} is not the one dataset ${m.name} was encoded with; prepare the dataset again`, { code: 'CHECKPOINT_MISMATCH', data: { path: tokDir } });
  }
  const splits = o.splits ?? Object.keys(m.splits).sort((a, b) => (a === 'train' ? -1 : b === 'train' ? 1 : a.localeCompare(b)));
  const out: DecodedSample[] = [];
  for (const split of splits) {
    const s = m.splits[split];
    if (!s) throw new UserError(`dataset ${m.name} has no ${split} split (it has ${Object.keys(m.splits).join(', ')})`, { code: 'INVALID_ARGUMENT', data: { split } });
    const path = join(dir, s.file);
    for (const offset of samplePositions(s.num_tokens, count, length)) {
      const ids = Array.from(readWindow(path, offset, Math.min(length, s.num_tokens - offset)));
      out.push({ split, offset, ids, pieces: ids.map((id) => tokenizer.decode([id])), text: tokenizer.decode(ids) });
    }
  }
  return out;
}
