// rope.wgsl's two ways through a tensor, against each other bit for bit: the pair-per-invocation entries (any
// layout) and the two-pairs-per-invocation entries with vec4 accesses (dk and strides multiples of 4), which the
// host picks by layout. The same values are laid out once with a row stride of dk (vec4 entries) and once with
// dk + 2 (pair entries; the padding must stay untouched), rotated forward, backward, and backward into f16.
import { afterAll, describe, expect, it } from 'vitest';
import { Program } from '../../src-main/engine/gpu/program';
import { createTensor, download, upload, type Tensor } from '../../src-main/engine/gpu/tensor';
import { rope, ropeBackwardHalf, ropeTables, type RopeArgs } from '../../src-main/engine/kernels/rope';
import { testGpu } from '../helpers';
import { rand } from './linear-helpers';

const gpu = await testGpu();
const d = gpu.device;
afterAll(() => gpu.destroy());

const tensor = (n: number, data?: Float32Array, dtype: 'f32' | 'f16' = 'f32'): Tensor => {
  const t = createTensor(d, [n], dtype, dtype);
  if (data) upload(d, t, data);
  return t;
};

/** [B, T, H·stride]-style layout with head vectors of dk values every `stride` elements. */
function layout(B: number, H: number, T: number, dk: number, stride: number): RopeArgs {
  return { B, H, T, dk, sB: T * H * stride, sH: stride, sT: H * stride };
}

describe('rope: vec4 entries equal the pair entries', () => {
  it.each([[2, 3, 5, 4], [1, 2, 7, 32], [2, 1, 3, 8]])('B %i, H %i, T %i, dk %i', async (B, H, T, dk) => {
    const quads = layout(B, H, T, dk, dk);
    const pairs = layout(B, H, T, dk, dk + 2);
    const nq = B * T * H * dk, np = B * T * H * (dk + 2);
    const vals = rand(nq, 21, 3);
    const padded = rand(np, 22, 5); // the padding keeps these values
    const at = (a: RopeArgs, b: number, h: number, t: number, c: number): number => b * a.sB + h * a.sH + t * a.sT + c;
    const each = (f: (b: number, h: number, t: number, c: number, i: number) => void): void => {
      let i = 0;
      for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) for (let h = 0; h < H; h++) for (let c = 0; c < dk; c++) f(b, h, t, c, i++);
    };
    each((b, h, t, c, i) => { padded[at(pairs, b, h, t, c)] = vals[i]; });
    const vq = new Float32Array(nq);
    each((b, h, t, c, i) => { vq[at(quads, b, h, t, c)] = vals[i]; });
    const tab = ropeTables(16, dk, 10000);
    const pos = Uint32Array.from({ length: T }, (_, t) => (t * 5 + 3) % 16);
    const tpos = createTensor(d, [T], 'pos', 'u32');
    upload(d, tpos, pos);
    const [tcos, tsin] = [tensor(tab.cos.length, tab.cos), tensor(tab.sin.length, tab.sin)];
    for (const backward of [false, true]) {
      const [xq, xp] = [tensor(nq, vq), tensor(np, padded)];
      const [hq, hp] = [tensor(nq, undefined, 'f16'), tensor(np, undefined, 'f16')];
      const p = new Program(d);
      rope(p, quads, xq, tpos, tcos, tsin, backward);
      rope(p, pairs, xp, tpos, tcos, tsin, backward);
      ropeBackwardHalf(p, quads, xq, tpos, tcos, tsin, hq);
      ropeBackwardHalf(p, pairs, xp, tpos, tcos, tsin, hp);
      // Both ways ran: the host picked the vec4 entries for the dense layout and the pair entries for the padded one.
      const kernels = p.steps.flatMap((st) => (st.kind === 'dispatch' ? [st.pipeline.label] : []));
      const fwd = backward ? 'rope_backward' : 'rope_forward';
      expect(kernels).toEqual([`rope:${fwd}4`, `rope:${fwd}`, 'rope:rope_backward_half4', 'rope:rope_backward_half']);
      p.submit();
      const [gq, gp, g16q, g16p] = await Promise.all([download(d, xq), download(d, xp), download(d, hq), download(d, hp)]);
      let moved = 0;
      each((b, h, t, c) => {
        const q = gq[at(quads, b, h, t, c)], pr = gp[at(pairs, b, h, t, c)];
        if (!Object.is(q, pr)) throw new Error(`${backward ? 'backward' : 'forward'} (${b},${h},${t},${c}): ${q} vs ${pr}`);
        const q16 = g16q[at(quads, b, h, t, c)], p16 = g16p[at(pairs, b, h, t, c)];
        if (!Object.is(q16, p16)) throw new Error(`backward_half (${b},${h},${t},${c}): ${q16} vs ${p16}`);
        if (q !== vq[at(quads, b, h, t, c)]) moved++;
      });
      expect(moved).toBeGreaterThan(0);
      // The pair layout's padding is untouched.
      for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) for (let h = 0; h < H; h++) for (const c of [dk, dk + 1]) {
        expect(gp[at(pairs, b, h, t, c)]).toBe(padded[at(pairs, b, h, t, c)]);
      }
    }
  });
});
