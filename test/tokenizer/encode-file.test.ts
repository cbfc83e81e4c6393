import { describe, expect, it, afterAll } from 'vitest';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { encodeFile } from '../../src-main/tokenizer/encode-file';
import { readTokenFile, readTokenFileManifest } from '../../src-main/tokenizer/token-file';
import { trainFromText } from '../../src-main/tokenizer/train';
import { saveTokenizer, tokenizerFromVocabMerges } from '../../src-main/tokenizer/files';
import { sha256Hex } from '../../src-main/tokenizer/chunks';
import { cs336, dataDir, needCs336, needData, randomText, repoRoot, rng, scratch } from './helpers';

const tmp = scratch('encfile');
afterAll(() => tmp.cleanup());

function corpusText(): string {
  const rand = rng(42);
  let s = '';
  let doc = 0;
  while (s.length < 600_000) {
    s += randomText(rand, 60);
    if (++doc % 7 === 0) s += '<|endoftext|>';
    if (doc % 11 === 0) s += '\n';
  }
  return s;
}

describe('token files', () => {
  const text = corpusText();
  const { tokenizer } = trainFromText(text, { vocabSize: 700, specials: ['<|endoftext|>'] });
  const input = join(tmp.dir, 'input.txt');
  writeFileSync(input, text);

  it('writes raw little-endian uint16 ids equal to encoding the whole text, with a manifest (1 thread and 2 workers)', async () => {
    const expected = tokenizer.encode(text);
    for (const workers of [0, 2]) {
      const out = join(tmp.dir, `out-${workers}.bin`);
      const r = await encodeFile(tokenizer, input, out, { workers, chunkSize: 16 * 1024 });
      const buf = readFileSync(out);
      expect(buf.length).toBe(expected.length * 2);
      for (let i = 0; i < expected.length; i++) if (buf.readUInt16LE(2 * i) !== expected[i]) expect(buf.readUInt16LE(2 * i)).toBe(expected[i]);
      const m = readTokenFileManifest(out);
      expect(m).toMatchObject({ dtype: 'uint16', byte_order: 'little', vocab_size: 700, num_tokens: expected.length, tokenizer_hash: tokenizer.hash() });
      expect(m.source.sha256).toBe(sha256Hex(readFileSync(input)));
      expect(m.source.size).toBe(Buffer.byteLength(text));
      expect(m.special_tokens).toEqual({ '<|endoftext|>': 0 });
      expect(r.manifest).toEqual(m);
      expect(Array.from(readTokenFile(out))).toEqual(Array.from(expected));
      expect(tokenizer.decode(readTokenFile(out))).toBe(text);
    }
    expect(readdirSync(tmp.dir).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });

  it('never cuts a chunk inside a longer special token (overlapping specials, tiny chunks, workers)', async () => {
    const { tokenizer: t2 } = trainFromText(text, { vocabSize: 500, specials: ['<|endoftext|>', '<|endoftext|><|endoftext|>'] });
    const rand = rng(8);
    let s = '';
    while (s.length < 300_000) s += randomText(rand, 8) + (rand() < 0.5 ? '<|endoftext|><|endoftext|>' : '<|endoftext|>');
    const f = join(tmp.dir, 'overlap.txt');
    writeFileSync(f, s);
    const expected = Array.from(t2.encode(s));
    expect(expected).toContain(t2.specialIds[1]);
    for (const workers of [0, 2]) {
      await encodeFile(t2, f, join(tmp.dir, 'overlap.bin'), { workers, chunkSize: 1024 });
      expect(Array.from(readTokenFile(join(tmp.dir, 'overlap.bin')))).toEqual(expected);
    }
  });

  it('keeps a stretch without any cut point whole (one 300 KB pre-token), and cuts CRLF text exactly', async () => {
    const f = join(tmp.dir, 'nocut.txt');
    const s = 'ab'.repeat(150_000) + ' tail\r\n\r\nmore text\r\n'.repeat(2000) + 'é日😀 x'.repeat(3000);
    writeFileSync(f, s);
    const expected = Array.from(tokenizer.encode(s));
    for (const workers of [0, 2]) {
      await encodeFile(tokenizer, f, join(tmp.dir, 'nocut.bin'), { workers, chunkSize: 4096 });
      expect(Array.from(readTokenFile(join(tmp.dir, 'nocut.bin')))).toEqual(expected);
    }
  });

  it('refuses vocabularies that do not fit uint16, empty input, and invalid UTF-8 (removing the partial output)', async () => {
    const empty = join(tmp.dir, 'empty.txt');
    writeFileSync(empty, '');
    await expect(encodeFile(tokenizer, empty, join(tmp.dir, 'e.bin'))).rejects.toThrow(/empty/);
    const bad = join(tmp.dir, 'bad.txt');
    writeFileSync(bad, Buffer.concat([Buffer.from(text.slice(0, 100_000)), Buffer.from([0xc3, 0x28]), Buffer.from('tail')]));
    for (const workers of [0, 2]) {
      const out = join(tmp.dir, `bad-${workers}.bin`);
      await expect(encodeFile(tokenizer, bad, out, { workers, chunkSize: 8192 })).rejects.toThrow(/not valid UTF-8 \(first bad byte at offset \d+\).*No output was written/);
      expect(existsSync(out)).toBe(false);
    }
    expect(readdirSync(tmp.dir).filter((f) => f.includes('.tmp-'))).toEqual([]);
    const r = await encodeFile(tokenizer, bad, join(tmp.dir, 'bad-replaced.bin'), { invalidUtf8: 'replace' });
    expect(r.manifest.num_tokens).toBeGreaterThan(0);
    if (needCs336('uint16 overflow check with GPT-2 + extra specials')) {
      const big = tokenizerFromVocabMerges(readFileSync(join(cs336, 'gpt2_vocab.json'), 'utf8'), readFileSync(join(cs336, 'gpt2_merges.txt'), 'utf8'), ['<|endoftext|>', ...Array.from({ length: 15300 }, (_, i) => `<|x${i}|>`)]);
      await expect(encodeFile(big, input, join(tmp.dir, 'big.bin'))).rejects.toThrow(/at most 65536/);
    }
  });

  it('removes the partial output and says so when the disk runs out mid-write (small tmpfs)', async () => {
    const mnt = join(tmp.dir, 'tiny-disk');
    mkdirSync(mnt);
    const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', mnt]).status === 0;
    if (!mounted) {
      console.warn('[skip] disk-full test: cannot mount a tmpfs here (needs root); see docs/tokenizer.md');
      return;
    }
    try {
      const out = join(mnt, 'train.bin');
      await expect(encodeFile(tokenizer, input, out, { chunkSize: 64 * 1024 })).rejects.toThrow(/disk is full while writing .*train\.bin; the partial output was removed/);
      expect(readdirSync(mnt)).toEqual([]);
      await expect(encodeFile(tokenizer, input, out, { chunkSize: 64 * 1024, workers: 2 })).rejects.toThrow(/disk is full/);
      expect(readdirSync(mnt)).toEqual([]);
    } finally {
      spawnSync('umount', [mnt]);
    }
  });

  it.skipIf(!needData('lmwb tokenize on TinyStories'))('`lmwb tokenize` encodes a file from the command line and prints rate and token count', () => {
    const dir = join(tmp.dir, 'tok');
    saveTokenizer(tokenizer, dir);
    const out = join(tmp.dir, 'cli.bin');
    const src = join(dataDir, 'tinystories', 'tinystories_valid_head.txt');
    const r = spawnSync(process.execPath, [join(repoRoot, 'bin', 'lmwb.mjs'), 'tokenize', '--tokenizer', dir, '--input', src, '--out', out], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/tokens .* MB\/s/);
    expect(Array.from(readTokenFile(out))).toEqual(Array.from(tokenizer.encode(readFileSync(src, 'utf8'))));
    const bad = spawnSync(process.execPath, [join(repoRoot, 'bin', 'lmwb.mjs'), 'tokenize', '--tokenizer', dir, '--input', join(tmp.dir, 'nope.txt'), '--out', out], { encoding: 'utf8' });
    expect(bad.status).toBe(2);
    expect(bad.stderr.trim()).toMatch(/^lmwb: cannot read .*nope\.txt/);
    expect(bad.stderr).not.toMatch(/at .*\.ts:\d+/);
  });
});
