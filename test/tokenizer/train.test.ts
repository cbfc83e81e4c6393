import { describe, expect, it, afterAll } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import { trainFromFile, trainFromText } from '../../src-main/tokenizer/train';
import { learnMerges } from '../../src-main/tokenizer/bpe-merge';
import { compareBytes } from '../../src-main/tokenizer/bytes-unicode';
import { saveTokenizer, serializeMerges, serializeVocab, loadTokenizer } from '../../src-main/tokenizer/files';
import { UserError } from '../../src-main/util/errors';
import { encodeFile } from '../../src-main/tokenizer/encode-file';
import { readTokenFile } from '../../src-main/tokenizer/token-file';
import { cs336, dataDir, needCs336, needData, randomText, repoRoot, rng, scratch } from './helpers';

const tmp = scratch('train');
afterAll(() => tmp.cleanup());

/** The textbook trainer: recount every pair each merge; max by (count, bytes(a), bytes(b)). */
function naiveMerges(words: Uint8Array[], freqs: number[], numMerges: number): string[] {
  const tok: Uint8Array[] = [];
  for (let b = 0; b < 256; b++) tok.push(Uint8Array.of(b));
  const seqs = words.map((w) => Array.from(w));
  const out: string[] = [];
  for (let m = 0; m < numMerges; m++) {
    const counts = new Map<string, number>();
    seqs.forEach((s, wi) => { for (let i = 0; i + 1 < s.length; i++) { const k = `${s[i]},${s[i + 1]}`; counts.set(k, (counts.get(k) ?? 0) + freqs[wi]); } });
    let best: [number, number] | undefined;
    let bestC = -1;
    for (const [k, c] of counts) {
      const [a, b] = k.split(',').map(Number);
      if (c > bestC || (c === bestC && best && (compareBytes(tok[a], tok[best[0]]) || compareBytes(tok[b], tok[best[1]])) > 0)) { best = [a, b]; bestC = c; }
    }
    if (!best) break;
    const [a, b] = best;
    const id = tok.length;
    tok.push(new Uint8Array([...tok[a], ...tok[b]]));
    out.push(`${Buffer.from(tok[a]).toString('latin1')}|${Buffer.from(tok[b]).toString('latin1')}`);
    for (let wi = 0; wi < seqs.length; wi++) {
      const s = seqs[wi];
      const n: number[] = [];
      for (let i = 0; i < s.length; ) { if (i + 1 < s.length && s[i] === a && s[i + 1] === b) { n.push(id); i += 2; } else n.push(s[i++]); }
      seqs[wi] = n;
    }
  }
  return out;
}

describe('BPE trainer', () => {
  it.skipIf(!needCs336('reference vocab/merges on corpus.en'))('matches the CS336 reference vocab.json and merges.txt byte for byte (corpus.en, vocab 500)', async () => {
    const { tokenizer, stats } = await trainFromFile(join(cs336, 'corpus.en'), { vocabSize: 500, specials: ['<|endoftext|>'] });
    expect(serializeVocab(tokenizer)).toBe(readFileSync(join(cs336, 'train-bpe-reference-vocab.json'), 'utf8'));
    expect(serializeMerges(tokenizer)).toBe(readFileSync(join(cs336, 'train-bpe-reference-merges.txt'), 'utf8'));
    expect(stats.totalSeconds).toBeLessThan(5); // the benchmark target is 0.3 s; this only catches gross regressions (CI is shared)
    const out = join(tmp.dir, 'ref500');
    saveTokenizer(tokenizer, out);
    expect(readFileSync(join(out, 'vocab.json'), 'utf8')).toBe(readFileSync(join(cs336, 'train-bpe-reference-vocab.json'), 'utf8'));
    expect(loadTokenizer(out).hash()).toBe(tokenizer.hash());
  });

  it.skipIf(!needCs336('lmwb tokenizer train vs the reference files'))('`lmwb tokenizer train` writes files identical to the reference (diff is empty)', () => {
    const out = join(tmp.dir, 'cli500');
    execFileSync(process.execPath, [join(repoRoot, 'bin', 'lmwb.mjs'), 'tokenizer', 'train', '--input', join(cs336, 'corpus.en'), '--vocab-size', '500', '--special', '<|endoftext|>', '--out', out], { stdio: 'pipe' });
    execFileSync('diff', [join(out, 'vocab.json'), join(cs336, 'train-bpe-reference-vocab.json')]);
    execFileSync('diff', [join(out, 'merges.txt'), join(cs336, 'train-bpe-reference-merges.txt')]);
  });

  it('`lmwb tokenizer train` notes a file without the special tokens, and rejects a bad vocab size in one line', () => {
    const f = join(tmp.dir, 'plain.txt');
    writeFileSync(f, 'no document separators here, just text\n'.repeat(100));
    const ok = spawnSync(process.execPath, [join(repoRoot, 'bin', 'lmwb.mjs'), 'tokenizer', 'train', '--input', f, '--vocab-size', '270', '--out', join(tmp.dir, 'plain')], { encoding: 'utf8' });
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stderr).toMatch(/contains none of the special tokens "<\|endoftext\|>"/);
    expect(ok.stderr).toMatch(/peak RSS \d+ MB/);
    const bad = spawnSync(process.execPath, [join(repoRoot, 'bin', 'lmwb.mjs'), 'tokenizer', 'train', '--input', f, '--vocab-size', '100', '--out', join(tmp.dir, 'x')], { encoding: 'utf8' });
    expect(bad.status).toBe(2);
    expect(bad.stderr.trim()).toBe('lmwb: vocab size 100 is too small: it must be at least 256 (one token per byte) + 1 special token(s) = 257');
  });

  it('equals the textbook trainer (full recount per merge) on random corpora full of ties', () => {
    const rand = rng(7);
    for (let trial = 0; trial < 40; trial++) {
      const n = 1 + Math.floor(rand() * 30);
      const words: Uint8Array[] = [];
      const freqs: number[] = [];
      const seen = new Set<string>();
      for (let i = 0; i < n; i++) {
        const len = 1 + Math.floor(rand() * 8);
        const w = new Uint8Array(len).map(() => [97, 98, 99, 32, 200][Math.floor(rand() * 5)]);
        const k = w.join(',');
        if (seen.has(k)) continue;
        seen.add(k);
        words.push(w);
        freqs.push(1 + Math.floor(rand() * 3));
      }
      const { merges, tokenBytes } = learnMerges(words, freqs, { numMerges: 30 });
      const ours = merges.map(([a, b]) => `${Buffer.from(tokenBytes[a]).toString('latin1')}|${Buffer.from(tokenBytes[b]).toString('latin1')}`);
      expect(ours).toEqual(naiveMerges(words, freqs, 30));
    }
  });

  it('breaks ties toward the lexicographically greater pair of byte strings', () => {
    // "ab" and "cd" are equally frequent: (c, d) > (a, b), so "cd" is merged first.
    const { tokenizer } = trainFromText('ab cd ab cd', { vocabSize: 258, specials: [] });
    expect(Buffer.from(tokenizer.vocab[256]).toString()).toBe('cd');
  });

  it('never merges across special tokens and never counts them', () => {
    const text = 'xy<|endoftext|>'.repeat(50) + 'x<|endoftext|>y';
    const { tokenizer, stats } = trainFromText(text, { vocabSize: 300, specials: ['<|endoftext|>'] });
    expect(stats.merges).toBe(1);
    expect(Buffer.from(tokenizer.vocab[257]).toString()).toBe('xy');
    expect(Buffer.from(tokenizer.vocab[0]).toString()).toBe('<|endoftext|>');
  });

  it('numbers several special tokens first, in the order given', () => {
    const { tokenizer } = trainFromText('hello<|a|>world<|b|>', { vocabSize: 270, specials: ['<|a|>', '<|b|>'] });
    expect(tokenizer.specialIds).toEqual([0, 1]);
    expect(Buffer.from(tokenizer.vocab[2]).toString()).toBe('!');
  });

  it('rejects a vocabulary smaller than 256 + specials, and an empty file', async () => {
    expect(() => trainFromText('abc', { vocabSize: 256, specials: ['<|endoftext|>'] })).toThrow(/at least 256 .* = 257/);
    const empty = join(tmp.dir, 'empty.txt');
    writeFileSync(empty, '');
    await expect(trainFromFile(empty, { vocabSize: 300 })).rejects.toThrow(UserError);
    await expect(trainFromFile(empty, { vocabSize: 300 })).rejects.toThrow(/empty/);
    await expect(trainFromFile(join(tmp.dir, 'missing.txt'), { vocabSize: 300 })).rejects.toThrow(/cannot read/);
  });

  it('reports invalid UTF-8 with its byte offset, or replaces it when asked (in this thread and in workers)', async () => {
    const bad = join(tmp.dir, 'bad.txt');
    const good = Buffer.from('hello world '.repeat(1000));
    writeFileSync(bad, Buffer.concat([good, Buffer.from([0xff, 0xfe]), good]));
    for (const workers of [0, 2]) {
      await expect(trainFromFile(bad, { vocabSize: 300, workers, chunkSize: 4096 })).rejects.toThrow(`offset ${good.length}`);
      const { tokenizer } = await trainFromFile(bad, { vocabSize: 300, workers, chunkSize: 4096, invalidUtf8: 'replace' });
      expect(tokenizer.merges.length).toBeGreaterThan(5);
    }
  });

  it.skipIf(!needData('parallel training equals single-thread training'))('gives the same tokenizer with 2 workers and small chunks as in one thread, with and without special tokens', async () => {
    const text = readFileSync(join(dataDir, 'tinystories', 'tinystories_valid_head.txt'), 'utf8');
    const withSpecials = join(tmp.dir, 'with-eot.txt');
    writeFileSync(withSpecials, text.split('\n\n').join('<|endoftext|>'));
    const noSpecials = join(tmp.dir, 'no-eot.txt');
    writeFileSync(noSpecials, text);
    for (const f of [withSpecials, noSpecials]) {
      const single = trainFromText(readFileSync(f, 'utf8'), { vocabSize: 600, specials: ['<|endoftext|>'] }).tokenizer;
      const { tokenizer, stats } = await trainFromFile(f, { vocabSize: 600, specials: ['<|endoftext|>'], workers: 2, chunkSize: 32 * 1024 });
      expect(stats.workers).toBe(2);
      expect(tokenizer.hash()).toBe(single.hash());
    }
  });

  it('trains on and encodes a single 100 MB line (cut at whitespace, bounded memory)', async () => {
    const words = ['alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta', 'eta', 'theta'];
    const rand = rng(5);
    const parts: string[] = [];
    let size = 0;
    while (size < 1_000_000) { const w = words[Math.floor(rand() * words.length)]; parts.push(w); size += w.length + 1; }
    const block = parts.join(' ') + ' ';
    const file = join(tmp.dir, 'line.txt');
    const reps = Math.ceil(100e6 / block.length);
    writeFileSync(file, block.repeat(reps));
    const { tokenizer, stats } = await trainFromFile(file, { vocabSize: 300, specials: ['<|endoftext|>'] });
    expect(stats.inputBytes).toBeGreaterThanOrEqual(100e6);
    expect(stats.uniquePretokens).toBeLessThanOrEqual(words.length * 2);
    expect(tokenizer.vocabSize).toBeLessThanOrEqual(300);
    const small = trainFromText(block, { vocabSize: 300, specials: ['<|endoftext|>'] }).tokenizer;
    // Same distinct pre-tokens; counts scale by `reps` except at the block seams, so the merges mostly agree.
    expect(tokenizer.merges.slice(0, 5)).toEqual(small.merges.slice(0, 5));
    // And encode it into a token file.
    const out = join(tmp.dir, 'line.bin');
    const r = await encodeFile(tokenizer, file, out);
    const ids = readTokenFile(out);
    expect(ids.length).toBe(r.manifest.num_tokens);
    expect(tokenizer.decode(ids.subarray(0, 2000))).toBe(block.slice(0, tokenizer.decode(ids.subarray(0, 2000)).length));
    expect(Array.from(ids.subarray(0, 1000))).toEqual(Array.from(tokenizer.encode(block.slice(0, 100_000)).subarray(0, 1000)));
  });

  it('works with workers loading the TypeScript through tsx (the fallback when esbuild is unavailable)', async () => {
    const f = join(tmp.dir, 'tsx-workers.txt');
    writeFileSync(f, 'the cat sat on the mat<|endoftext|>'.repeat(2000));
    process.env.LMWB_WORKER_TSX = '1';
    try {
      const { tokenizer, stats } = await trainFromFile(f, { vocabSize: 280, specials: ['<|endoftext|>'], workers: 2, chunkSize: 8192 });
      expect(stats.workers).toBe(2);
      expect(tokenizer.hash()).toBe(trainFromText(readFileSync(f, 'utf8'), { vocabSize: 280, specials: ['<|endoftext|>'] }).tokenizer.hash());
    } finally {
      delete process.env.LMWB_WORKER_TSX;
    }
  });

  it('handles random Unicode text identically in one thread and in workers', async () => {
    const rand = rng(3);
    let text = '';
    while (text.length < 200_000) text += randomText(rand, 40);
    const f = join(tmp.dir, 'random.txt');
    writeFileSync(f, text);
    const single = trainFromText(text, { vocabSize: 400, specials: ['<|endoftext|>'] }).tokenizer;
    const { tokenizer } = await trainFromFile(f, { vocabSize: 400, specials: ['<|endoftext|>'], workers: 2, chunkSize: 8 * 1024 });
    expect(serializeMerges(tokenizer)).toBe(serializeMerges(single));
  });
});
