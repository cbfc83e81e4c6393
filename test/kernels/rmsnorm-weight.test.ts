// rmsnorm.wgsl's gain gradient (backward_weight: partial sums over row chunks, then a reduce over the chunks)
// against a CPU f64 oracle: many chunks and a last one that is not full, a column block that is not full (D 14 in
// one 64-column block, D 80 in two), and accumulate onto what dw holds.
import { afterAll, describe, expect, it } from 'vitest';
import { Program } from '../../src-main/engine/gpu/program';
import { createTensor, download, upload } from '../../src-main/engine/gpu/tensor';
import { RMSNORM_ROWS_PER_CHUNK, rmsnormBackwardWeight, rmsnormPartialSize } from '../../src-main/engine/kernels/rmsnorm';
import { testGpu } from '../helpers';

const gpu = await testGpu();
afterAll(() => gpu.destroy());

describe('rmsnorm backward_weight', () => {
  it.each([[14], [80]])('D = %i: dw = Σ dy·x·r over 5,000 rows, accumulated onto dw', async (D) => {
    const d = gpu.device;
    const rows = 5000; // 40 chunks of 128 rows, the last of 8
    expect(rows % RMSNORM_ROWS_PER_CHUNK).not.toBe(0);
    const x = Float32Array.from({ length: rows * D }, (_, i) => Math.sin(i * 0.37) * 2);
    const dy = Float32Array.from({ length: rows * D }, (_, i) => Math.cos(i * 0.11 + 1));
    const r = Float32Array.from({ length: rows }, (_, i) => 0.5 + (i % 7) / 10);
    const dw0 = Float32Array.from({ length: D }, (_, c) => c - 3);
    const want = Array.from({ length: D }, (_, c) => {
      let s = 0;
      for (let i = 0; i < rows; i++) s += dy[i * D + c] * x[i * D + c] * r[i];
      return dw0[c] + s;
    });
    const t = (n: number, label: string) => createTensor(d, [n], label);
    const tx = t(rows * D, 'x');
    const tdy = t(rows * D, 'dy');
    const tr = t(rows, 'r');
    const tdw = t(D, 'dw');
    const part = t(rmsnormPartialSize(rows, D), 'partial');
    upload(d, tx, x);
    upload(d, tdy, dy);
    upload(d, tr, r);
    upload(d, tdw, dw0);
    const p = new Program(d);
    rmsnormBackwardWeight(p, { rows, D, eps: 1e-5 }, tx, tdy, tr, tdw, part, true);
    p.submit();
    const got = await download(d, tdw);
    const scale = Math.max(...want.map(Math.abs));
    for (let c = 0; c < D; c++) expect(Math.abs(got[c] - want[c]) / scale, `column ${c}: ${got[c]} vs ${want[c]}`).toBeLessThan(1e-5);
    for (const b of [tx, tdy, tr, tdw, part]) b.buffer.destroy();
  });
});
