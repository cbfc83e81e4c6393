// Shared test helpers: where the read-only fixtures are (../shared beside the repository), scratch folders.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = resolve(fileURLToPath(new URL('../..', import.meta.url)));
export const sharedDir = resolve(repoRoot, '..', 'shared');
export const cs336 = join(sharedDir, 'cs336');
export const dataDir = join(sharedDir, 'data');
export const haveCs336 = existsSync(join(cs336, 'corpus.en'));
export const haveData = existsSync(join(dataDir, 'webtext', 'imdb_reviews_16mb.txt.gz'));

export function noteMissing(what: string, have: boolean): void {
  if (!have) console.warn(`[skip] ${what}: fixtures not found under ${sharedDir} (expected ../shared beside the repository)`);
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
