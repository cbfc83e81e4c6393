// Cancelling `dataset prepare` mid-way (while training the tokenizer, while encoding train.bin): AbortedError within
// a bound, no dataset.json and no half-written token file or temporary file, no live worker; running it again
// finishes and reuses the steps that had completed.
import { describe, expect, it, afterAll } from 'vitest';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { prepareDataset } from '../../src-main/dataset/prepare';
import { liveCount } from '../../src-main/util/live-resources';
import type { DataEvent } from '../../src-main/engine/events';
import { rng, scratch } from '../tokenizer/helpers';

const tmp = scratch('prepare-abort');
afterAll(() => tmp.cleanup());

function words(mb: number, seed: number): string {
  const rand = rng(seed);
  const parts: string[] = [];
  let n = 0;
  while (n < mb * 1e6) {
    let w = ' ';
    const len = 1 + Math.floor(rand() * 6);
    for (let i = 0; i < len; i++) w += 'abcdef'[Math.floor(rand() * 6)];
    if (rand() < 0.01) w += '.<|endoftext|>';
    parts.push(w);
    n += w.length;
  }
  return parts.join('');
}

describe('dataset prepare with an AbortSignal', () => {
  const train = join(tmp.dir, 'big-train.txt');
  const valid = join(tmp.dir, 'big-valid.txt');
  writeFileSync(train, words(4, 1));
  writeFileSync(valid, words(0.5, 2));
  const dir = join(tmp.dir, 'ds');
  const base = { train, valid, vocabSize: 600, specials: ['<|endoftext|>'], dir, workers: 2 };

  const abortAt = async (when: (e: DataEvent) => boolean) => {
    const ac = new AbortController();
    let at = 0;
    const err = await prepareDataset({ ...base, signal: ac.signal, onEvent: (e) => { if (at === 0 && when(e)) { at = performance.now(); ac.abort(); } } })
      .then(() => undefined, (e: unknown) => e as { code?: string });
    return { err, ms: performance.now() - at, at };
  };
  const leftovers = () => readdirSync(dir).filter((f) => f.includes('.tmp-') || f.endsWith('.bin'));

  it('stops while counting for the tokenizer, then while encoding train.bin; a re-run completes and reuses the tokenizer', async () => {
    const a = await abortAt((e) => e.type === 'progress' && e.task === 'count' && e.done > 0);
    expect(a.at).toBeGreaterThan(0);
    expect(a.err?.code).toBe('ABORTED');
    expect(a.ms).toBeLessThan(1000);
    expect(existsSync(join(dir, 'tokenizer'))).toBe(false);
    expect(existsSync(join(dir, 'dataset.json'))).toBe(false);
    expect(liveCount('worker')).toBe(0);

    const b = await abortAt((e) => e.type === 'progress' && e.task === 'encode' && e.detail === 'train' && e.done > 0);
    expect(b.err?.code).toBe('ABORTED');
    expect(b.ms).toBeLessThan(1000);
    expect(existsSync(join(dir, 'tokenizer', 'vocab.json'))).toBe(true);
    expect(leftovers()).toEqual([]);
    expect(existsSync(join(dir, 'dataset.json'))).toBe(false);
    expect(liveCount('worker')).toBe(0);

    const done = await prepareDataset(base);
    expect(done.ran).toEqual(['encode train', 'encode valid']);
    expect(readdirSync(dir).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });
});
