// Cancelling and killing the tokenizer's long operations: training (counting in workers, the merge loop) and
// encoding to a token file stop promptly on an AbortSignal with AbortedError, leave no output and no temporary
// file (an earlier output stays intact), and terminate their workers; a worker that dies mid-run is a WORKER_DIED
// error, not a hang.
import { describe, expect, it, afterAll } from 'vitest';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Worker } from 'node:worker_threads';
import { spawn } from 'node:child_process';
import { saveTokenizer } from '../../src-main/tokenizer/files';
import { encodeFile } from '../../src-main/tokenizer/encode-file';
import { trainFromFile, trainFromText } from '../../src-main/tokenizer/train';
import { liveCount, liveHandles } from '../../src-main/util/live-resources';
import type { DataEvent } from '../../src-main/engine/events';
import { repoRoot, rng, scratch } from './helpers';

const tmp = scratch('abort');
afterAll(() => tmp.cleanup());

/** About `mb` MB of text: random words of 1-9 letters (many distinct pre-tokens), documents separated by specials. */
function wordsText(mb: number, seed: number): string {
  const rand = rng(seed);
  const letters = 'abcdefghijklmnopqrstuvwxyz';
  const parts: string[] = [];
  let n = 0;
  while (n < mb * 1e6) {
    let w = ' ';
    const len = 1 + Math.floor(rand() * 9);
    for (let i = 0; i < len; i++) w += letters[Math.floor(rand() * (i === 0 ? 26 : 8))];
    if (rand() < 0.01) w += '.<|endoftext|>';
    parts.push(w);
    n += w.length;
  }
  return parts.join('');
}

const big = join(tmp.dir, 'big.txt');
writeFileSync(big, wordsText(12, 1));
const medium = join(tmp.dir, 'medium.txt');
writeFileSync(medium, wordsText(3, 3));
const tempFiles = (dir: string) => readdirSync(dir).filter((f) => f.includes('.tmp-'));

/** Runs op, aborting on the first event `when` accepts; returns the error and ms from abort to rejection. */
async function abortWhen(op: (signal: AbortSignal, onEvent: (e: DataEvent) => void) => Promise<unknown>, when: (e: DataEvent) => boolean) {
  const ac = new AbortController();
  let abortedAt = 0;
  let eventsAfter = 0;
  const onEvent = (e: DataEvent) => {
    if (abortedAt > 0) { eventsAfter++; return; }
    if (when(e)) { abortedAt = performance.now(); ac.abort(); }
  };
  const err = await op(ac.signal, onEvent).then(() => undefined, (e: unknown) => e);
  return { err: err as { code?: string } | undefined, ms: performance.now() - abortedAt, abortedAt, eventsAfter };
}

const { tokenizer } = trainFromText(wordsText(0.3, 2), { vocabSize: 500, specials: ['<|endoftext|>'] });

describe('aborting tokenizer operations', () => {
  it('training stops mid-count (2 workers): AbortedError, workers terminated', async () => {
    const r = await abortWhen(
      (signal, onEvent) => trainFromFile(big, { vocabSize: 1000, specials: ['<|endoftext|>'], workers: 2, chunkSize: 256 * 1024, signal, onEvent }),
      (e) => e.type === 'progress' && e.task === 'count' && e.done > 0,
    );
    expect(r.abortedAt).toBeGreaterThan(0);
    expect(r.err?.code).toBe('ABORTED');
    expect(r.ms).toBeLessThan(1000);
    expect(liveCount('worker')).toBe(0);
  });

  it('training stops mid-merge (the merge loop gives the event loop a turn)', async () => {
    let lastMerge = 0;
    const r = await abortWhen(
      (signal, onEvent) => trainFromFile(medium, { vocabSize: 20000, specials: ['<|endoftext|>'], workers: 0, signal, onEvent: (e) => { if (e.type === 'progress' && e.task === 'merge') lastMerge = e.done; onEvent(e); } }),
      (e) => e.type === 'progress' && e.task === 'merge' && e.done >= 64,
    );
    expect(r.err?.code).toBe('ABORTED');
    expect(r.ms).toBeLessThan(500);
    expect(lastMerge).toBeLessThan(20000 - 257);
  });

  for (const workers of [0, 2]) {
    it(`encoding stops mid-file (${workers} workers): no output, the earlier file intact, no temporary file, no live worker`, async () => {
      const dir = join(tmp.dir, `enc-${workers}`);
      const out = join(dir, 'train.bin');
      mkdirSync(dir);
      writeFileSync(out, 'previous');
      writeFileSync(`${out}.json`, '{"previous":true}');
      const r = await abortWhen(
        (signal, onEvent) => encodeFile(tokenizer, big, out, { workers, chunkSize: 256 * 1024, signal, onEvent }),
        (e) => e.type === 'progress' && e.done > 0 && e.done < (e.total ?? 0) / 2,
      );
      expect(r.err?.code).toBe('ABORTED');
      expect(r.ms).toBeLessThan(1000);
      expect(readFileSync(out, 'utf8')).toBe('previous');
      expect(readFileSync(`${out}.json`, 'utf8')).toBe('{"previous":true}');
      expect(tempFiles(dir)).toEqual([]);
      expect(liveCount('worker')).toBe(0);
    });
  }

  it('`lmwb tokenize` stops on Ctrl-C (SIGINT): exit 130, one line saying nothing was written, no temporary file', async () => {
    const dir = join(tmp.dir, 'cli');
    mkdirSync(dir);
    saveTokenizer(tokenizer, join(dir, 'tok'));
    const out = join(dir, 'out.bin');
    const child = spawn(process.execPath, [join(repoRoot, 'bin', 'lmwb.mjs'), 'tokenize', '--tokenizer', join(dir, 'tok'), '--input', big, '--out', out, '--workers', '2']);
    let stderr = '';
    let sentAt = 0;
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (sentAt === 0 && /encode\s+\d/.test(stderr)) { sentAt = performance.now(); child.kill('SIGINT'); }
    });
    const status = await new Promise<number | null>((r) => child.on('close', r));
    expect(sentAt, stderr).toBeGreaterThan(0);
    expect(performance.now() - sentAt).toBeLessThan(3000);
    expect(status, stderr).toBe(130);
    expect(stderr).toMatch(/lmwb: encoding was cancelled; .*out\.bin was not written/);
    expect(readdirSync(dir)).toEqual(['tok']);
  });

  it('an already-aborted signal does nothing', async () => {
    const out = join(tmp.dir, 'never.bin');
    await expect(encodeFile(tokenizer, big, out, { signal: AbortSignal.abort() })).rejects.toMatchObject({ code: 'ABORTED' });
    await expect(trainFromFile(big, { vocabSize: 300, signal: AbortSignal.abort() })).rejects.toMatchObject({ code: 'ABORTED' });
    expect(readdirSync(tmp.dir).filter((f) => f.startsWith('never') || f.startsWith('.never'))).toEqual([]);
  });
});

describe('a tokenizer worker that dies', () => {
  for (const task of ['encode', 'count'] as const) {
    it(`fails the ${task} run with WORKER_DIED quickly and leaves nothing behind`, async () => {
      const dir = join(tmp.dir, `dies-${task}`);
      const out = join(dir, 'x.bin');
      let killedAt = 0;
      const onEvent = (e: DataEvent) => {
        if (killedAt === 0 && e.type === 'progress' && e.done > 0) {
          killedAt = performance.now();
          const w = liveHandles('worker')[0] as Worker;
          void w.terminate();
        }
      };
      mkdirSync(dir);
      const run = task === 'encode'
        ? encodeFile(tokenizer, big, out, { workers: 2, chunkSize: 256 * 1024, onEvent })
        : trainFromFile(big, { vocabSize: 1000, workers: 2, chunkSize: 256 * 1024, onEvent });
      const err = await run.then(() => undefined, (e: unknown) => e as { code?: string; message: string });
      expect(killedAt).toBeGreaterThan(0);
      expect(err?.code).toBe('WORKER_DIED');
      expect(err?.message).toMatch(/worker thread stopped unexpectedly/);
      expect(performance.now() - killedAt).toBeLessThan(1000);
      expect(liveCount('worker')).toBe(0);
      expect(readdirSync(dir)).toEqual([]);
    });
  }
});
