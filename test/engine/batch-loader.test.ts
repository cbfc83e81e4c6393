// The batch loader's worker thread (engine/data/batch-loader.worker.ts): batches equal CS336 get_batch on the same
// starts, an out-of-range id is a TOKEN_OUT_OF_RANGE error naming the position, a worker killed mid-run rejects every
// pending and later load with WORKER_DIED quickly (no hang), and close() leaves no live worker.
import { describe, expect, it, afterAll } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Worker } from 'node:worker_threads';
import { BatchLoader } from '../../src-main/engine/data/batch-loader';
import { batchFromStarts } from '../../src-main/engine/data/batch';
import { embeddingSegments } from '../../src-main/engine/kernels/embedding';
import { liveCount, liveHandles } from '../../src-main/util/live-resources';
import { rng, scratch } from '../tokenizer/helpers';

const tmp = scratch('batch-loader');
afterAll(() => tmp.cleanup());

const N = 200_000;
const vocab = 1000;
const rand = rng(7);
const tokens = new Uint16Array(N);
for (let i = 0; i < N; i++) tokens[i] = Math.floor(rand() * vocab);
const file = join(tmp.dir, 'tokens.bin');
writeFileSync(file, new Uint8Array(tokens.buffer));
const opts = { path: file, numTokens: N, batchSize: 8, contextLength: 64, vocabSize: vocab, seed: 3, stream: 1 };

describe('BatchLoader', () => {
  it('loads the batches of get_batch for the same starts, with the embedding row grouping', async () => {
    const loader = new BatchLoader(opts);
    try {
      for (const step of [0, 1, 5, 2]) {
        const b = await loader.get(step);
        const want = batchFromStarts(tokens, loader.starts(step), opts.contextLength);
        expect(Array.from(b.inputs)).toEqual(Array.from(want.inputs));
        expect(Array.from(b.targets)).toEqual(Array.from(want.targets));
        const seg = embeddingSegments(want.inputs);
        expect(b.segments.count).toBe(seg.count);
        expect(Array.from(b.segments.order)).toEqual(Array.from(seg.order));
      }
    } finally {
      await loader.close();
    }
    expect(liveCount('worker')).toBe(0);
  });

  it('names an out-of-range id and its position (TOKEN_OUT_OF_RANGE)', async () => {
    const loader = new BatchLoader({ ...opts, vocabSize: 10 });
    try {
      const starts = new Float64Array([100]);
      const err = (await loader.load(starts).catch((e: unknown) => e)) as { code: string; message: string; data: { index: number } };
      expect(err.code).toBe('TOKEN_OUT_OF_RANGE');
      const first = Array.from(tokens.subarray(100, 100 + 65)).findIndex((t) => t >= 10);
      expect(err.data.index).toBe(100 + first);
      expect(err.message).toMatch(new RegExp(`has id ${tokens[100 + first]} at position ${100 + first}.*vocab_size is 10`));
    } finally {
      await loader.close();
    }
  });

  it('rejects pending and later loads with WORKER_DIED when its worker is killed mid-run', async () => {
    const before = new Set(liveHandles('worker'));
    const loader = new BatchLoader({ ...opts, batchSize: 64, contextLength: 512 });
    const worker = liveHandles('worker').find((w) => !before.has(w)) as Worker;
    expect(worker).toBeDefined();
    await loader.get(0);
    const pending = Array.from({ length: 50 }, (_, i) => loader.load(loader.starts(i + 1)).then(() => 'loaded', (e: { code: string }) => e.code));
    const t0 = performance.now();
    void worker.terminate();
    const results = await Promise.all(pending);
    expect(performance.now() - t0).toBeLessThan(2000);
    expect(results).toContain('WORKER_DIED');
    expect(results.every((r) => r === 'loaded' || r === 'WORKER_DIED')).toBe(true);
    await expect(loader.get(60)).rejects.toMatchObject({ code: 'WORKER_DIED', message: expect.stringMatching(/worker thread stopped unexpectedly/) });
    await loader.close();
    expect(liveCount('worker')).toBe(0);
  });
});
