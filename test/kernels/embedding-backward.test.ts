// embedding.wgsl's backward on skewed batches (one id in hundreds of rows, as "the" or "." in real text): the host
// grouping's chunks and slots (kernels/embedding.ts), and dW on the GPU against a float64 oracle. An id with at
// most EMBEDDING_CHUNK_ROWS rows is summed by one workgroup in row order, so it must match that f32 sum bit for
// bit; longer runs are summed chunk by chunk (float64 tolerance). dW starts non-zero: the backward adds into it.
import { afterAll, describe, expect, it } from 'vitest';
import { Program } from '../../src-main/engine/gpu/program';
import { createTensor, download, upload, type Tensor } from '../../src-main/engine/gpu/tensor';
import { EMBEDDING_CHUNK_ROWS, embeddingBackward, embeddingCapacity, embeddingSegments, type EmbeddingSegments } from '../../src-main/engine/kernels/embedding';
import { testGpu } from '../helpers';
import { rand } from './linear-helpers';

const CH = EMBEDDING_CHUNK_ROWS;

/** Row ids: id 3 in `big` rows, id 7 in exactly CH rows, id 8 in CH + 1, id 9 in 2·CH, the rest spread over the vocabulary, shuffled. */
function skewedIds(rows: number, vocab: number, big: number): Uint32Array {
  const ids: number[] = [];
  for (let i = 0; i < big; i++) ids.push(3);
  for (const [id, n] of [[7, CH], [8, CH + 1], [9, 2 * CH]]) for (let i = 0; i < n; i++) ids.push(id);
  for (let i = 0; ids.length < rows; i++) ids.push(10 + ((i * 7919) % (vocab - 10)));
  let s = 12345;
  for (let i = ids.length - 1; i > 0; i--) {
    s = (s * 1103515245 + 12345) >>> 0;
    const j = s % (i + 1);
    [ids[i], ids[j]] = [ids[j], ids[i]];
  }
  return Uint32Array.from(ids);
}

describe('embedding backward: host grouping', () => {
  it('cuts each id\'s sorted rows into chunks of at most CH rows; long runs own consecutive slots', () => {
    const rows = 1500;
    const ids = skewedIds(rows, 500, 700);
    const s = embeddingSegments(ids);
    const cap = embeddingCapacity(rows);
    expect(s.chunkStart.length).toBe(cap.chunks + 1);
    expect(s.longId.length).toBe(cap.longs);
    // The sort is stable: each id's rows in row order.
    for (let i = 1; i < rows; i++) expect(ids[s.order[i - 1]] < ids[s.order[i]] || (ids[s.order[i - 1]] === ids[s.order[i]] && s.order[i - 1] < s.order[i])).toBe(true);
    expect(s.chunkStart[0]).toBe(0);
    expect(s.chunkStart[s.chunks]).toBe(rows);
    let slots = 0;
    for (let c = 0; c < s.chunks; c++) {
      const [a, b] = [s.chunkStart[c], s.chunkStart[c + 1]];
      expect(b - a).toBeGreaterThan(0);
      expect(b - a).toBeLessThanOrEqual(CH);
      for (let i = a; i < b; i++) expect(ids[s.order[i]]).toBe(ids[s.order[a]]);
      const dest = s.chunkDest[c];
      if (dest & 0x80000000) expect(dest & 0x7fffffff).toBe(slots++);
      else expect(dest).toBe(ids[s.order[a]]);
    }
    expect(Array.from(s.longId.subarray(0, s.longs))).toEqual([3, 8, 9]);
    expect(Array.from(s.longSlot.subarray(0, s.longs + 1))).toEqual([0, Math.ceil(700 / CH), Math.ceil(700 / CH) + 2, Math.ceil(700 / CH) + 4]);
    expect(s.longSlot[s.longs]).toBe(slots);
    expect(s.count).toBe(new Set(ids).size);
  });

  it('stays within its capacity in the worst cases (all ids the same, all distinct, runs of CH + 1)', () => {
    for (const ids of [new Uint32Array(4096).fill(5), Uint32Array.from({ length: 4096 }, (_, i) => i), Uint32Array.from({ length: 4096 }, (_, i) => Math.floor(i / (CH + 1)))]) {
      expect(() => embeddingSegments(ids)).not.toThrow();
    }
  });
});

const gpu = await testGpu();
const d = gpu.device;
afterAll(() => gpu.destroy());

describe('embedding backward on the GPU', () => {
  it.each([[1500, 64, 500, 700], [333, 40, 100, 33]])('%i rows, D %i, vocab %i, one id in %i rows', async (rows, D, vocab, big) => {
    const ids = skewedIds(rows, vocab, big);
    const dout = rand(rows * D, 7, 1);
    const dW0 = rand(vocab * D, 9, 1);
    const host = embeddingSegments(ids);
    const cap = embeddingCapacity(rows);
    const u32 = (n: number, data: Uint32Array): Tensor => {
      const t = createTensor(d, [n], 'seg', 'u32');
      upload(d, t, data);
      return t;
    };
    const seg: EmbeddingSegments = {
      order: u32(rows, host.order), chunkStart: u32(cap.chunks + 1, host.chunkStart), chunkDest: u32(cap.chunks, host.chunkDest),
      longId: u32(cap.longs, host.longId), longSlot: u32(cap.longs + 1, host.longSlot), meta: u32(4, new Uint32Array([host.chunks, host.longs, 0, 0])),
      partial: createTensor(d, [cap.slots * D], 'partial'),
    };
    const tDout = createTensor(d, [rows * D], 'dout');
    upload(d, tDout, dout);
    const tW = createTensor(d, [vocab * D], 'dW');
    upload(d, tW, dW0);
    const p = new Program(d);
    embeddingBackward(p, { rows, D, vocab }, tDout, seg, tW);
    p.submit();
    const got = await download(d, tW);
    const byId = new Map<number, number[]>();
    for (let r = 0; r < rows; r++) byId.set(ids[r], [...(byId.get(ids[r]) ?? []), r]);
    let checkedExact = 0;
    for (let v = 0; v < vocab; v++) {
      const rs = byId.get(v) ?? [];
      for (let c = 0; c < D; c++) {
        const i = v * D + c;
        if (rs.length <= CH) {
          // One chunk: the f32 sum in row order, then added to dW, exactly as the kernel does.
          let s = 0;
          for (const r of rs) s = Math.fround(s + dout[r * D + c]);
          expect(got[i]).toBe(Math.fround(dW0[i] + s));
          checkedExact++;
        } else {
          let s = dW0[i];
          for (const r of rs) s += dout[r * D + c];
          if (!(Math.abs(got[i] - s) <= 1e-5 * (1 + Math.abs(s)))) throw new Error(`dW[${v}, ${c}]: ${got[i]} vs ${s} (id in ${rs.length} rows)`);
        }
      }
    }
    expect(checkedExact).toBeGreaterThan(0);
    p.destroy();
    for (const t of [...Object.values(seg), tDout, tW]) t.buffer.destroy();
  });
});
