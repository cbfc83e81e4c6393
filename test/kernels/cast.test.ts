// cast.wgsl against a CPU f32 → f16 round-to-nearest-even, including the tail of a size that is not a multiple
// of 8, overflow to ±inf, subnormals, and the 16-byte-group writes staying inside the output's room.
import { afterAll, describe, expect, it } from 'vitest';
import { Program } from '../../src-main/engine/gpu/program';
import { createTensor, download, readBytes, upload } from '../../src-main/engine/gpu/tensor';
import { castF16 } from '../../src-main/engine/kernels/cast';
import { testGpu } from '../helpers';

const gpu = await testGpu();
afterAll(() => gpu.destroy());

/** f32 → f16 bits, round to nearest even (the reference). */
function toHalf(x: number): number {
  const f = new Float32Array([x]);
  const u = new Uint32Array(f.buffer)[0];
  const sign = (u >>> 16) & 0x8000;
  const e = (u >>> 23) & 0xff;
  const m = u & 0x7fffff;
  if (e === 0xff) return sign | 0x7c00 | (m ? 0x200 : 0);
  const ue = e - 127 + 15;
  if (ue >= 31) return sign | 0x7c00;
  if (ue <= 0) {
    if (ue < -10) return sign;
    const mm = m | 0x800000;
    const shift = 14 - ue;
    let h = mm >>> shift;
    const rem = mm & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && h & 1)) h++;
    return sign | h;
  }
  let h = (ue << 10) | (m >>> 13);
  const rem = m & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && h & 1)) h++;
  return sign | h;
}

describe('cast_f16', () => {
  it.each([1, 7, 8, 13, 1000, 4099])('n = %i matches round-to-nearest-even, tail included', async (n) => {
    const d = gpu.device;
    const x = new Float32Array(n);
    for (let i = 0; i < n; i++) x[i] = Math.sin(i * 1.7) * 10 ** ((i % 13) - 6);
    if (n > 6) { x[1] = 70000; x[2] = -1e9; x[3] = 3e-8; x[4] = 65504; x[5] = 65519; x[6] = -65520; }
    const tx = createTensor(d, [n], 'x');
    // Output with a sentinel after the room cast may use (n rounded up to 8 halves, i.e. 16-byte groups).
    const room = Math.ceil(n / 8) * 8;
    const th = createTensor(d, [room + 8], 'h', 'f16');
    upload(d, tx, x);
    const sentinel = new Uint16Array(room + 8).fill(0x1234);
    d.queue.writeBuffer(th.buffer, 0, sentinel);
    const p = new Program(d);
    castF16(p, tx, th, n);
    p.submit();
    const bits = new Uint16Array(await readBytes(d, th.buffer, 0, (room + 8) * 2));
    for (let i = 0; i < n; i++) expect(bits[i], `element ${i} (${x[i]})`).toBe(toHalf(x[i]));
    for (let i = room; i < room + 8; i++) expect(bits[i]).toBe(0x1234);
    const back = await download(d, { ...th, shape: [n] });
    if (n > 6) expect([back[1], back[2], back[5], back[6]]).toEqual([Infinity, -Infinity, 65504, -Infinity]);
    tx.buffer.destroy();
    th.buffer.destroy();
  });

  it('refuses the wrong dtypes', () => {
    const d = gpu.device;
    const a = createTensor(d, [8], 'a');
    expect(() => castF16(new Program(d), a, a)).toThrow(/f32 → f16/);
  });
});
