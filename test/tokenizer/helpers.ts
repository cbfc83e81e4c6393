// Shared test helpers: where the read-only fixtures are (../shared beside the repository) and whether they are
// there (skip locally, fail under CI: ../helpers/requirements.ts), scratch folders.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { needShared, sharedDir } from '../helpers/requirements';

export { repoRoot } from '../helpers/requirements';
export const cs336 = join(sharedDir, 'cs336');
export const dataDir = join(sharedDir, 'data');

/** The CS336 fixtures the tokenizer tests read: corpus, GPT-2 vocab and merges, reference BPE output, sample texts. */
const CS336_FILES = ['corpus.en', 'gpt2_vocab.json', 'gpt2_merges.txt', 'train-bpe-reference-vocab.json',
  'train-bpe-reference-merges.txt', 'tinystories_sample.txt', 'address.txt', 'german.txt'].map((f) => `cs336/${f}`);

/** Whether ../shared/cs336 is there for the tests named `what` (skips locally, throws under CI). */
export function needCs336(what: string): boolean {
  return needShared(what, CS336_FILES);
}

/** Whether ../shared/data's TinyStories head is there for the tests named `what` (skips locally, throws under CI). */
export function needData(what: string): boolean {
  return needShared(what, ['data/tinystories/tinystories_valid_head.txt']);
}

export function scratch(prefix: string): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `lmwb-${prefix}-`));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Deterministic pseudo-random numbers (tests must not flake). */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Random strings over a mix of ASCII, whitespace kinds, contractions, letters and digits of many scripts, emoji. */
export function randomText(rand: () => number, maxPieces: number): string {
  const alphabet = [' ', '  ', '\n', '\n\n', '\t', '\r\n', "'", "'s", "'ll", "'ve", "'re", "'t", 's', 'a', 'Z', 'the', ' the', '1', '42', '٣', '!', '.', ',', '?!', 'é', 'ß', '日本', '😀', '👩‍👩‍👧', '\u00a0', '\u0085', '\ufeff', '\u3000', '\u2028', 'ǅ', 'Ⅻ', '𝟙', '𝒜', '<|endoftext|>', '<|', '|>', 'Ġ', '\u0000', '\u001f', 'ø', 'ÿ'];
  let s = '';
  const n = Math.floor(rand() * maxPieces);
  for (let j = 0; j < n; j++) s += alphabet[Math.floor(rand() * alphabet.length)];
  return s;
}
