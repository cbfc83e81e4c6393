// The kernels that write f16 copies for mixed precision (swiglu_*_half, cross_entropy_forward_backward_half,
// rmsnorm_forward_half, rmsnorm_backward_input_half, rope_backward_half) against their f32 entries on the same inputs: every value equal to the f32 result rounded to f16 (relative
// 2^-11, plus the f16 subnormal step), odd sizes included, and the f32 inputs left unchanged.
import { afterAll, describe, expect, it } from 'vitest';
import { Program } from '../../src-main/engine/gpu/program';
import { createTensor, download, upload, type Tensor } from '../../src-main/engine/gpu/tensor';
import { swigluBackward, swigluBackwardHalf, swigluForward, swigluForwardHalf } from '../../src-main/engine/kernels/ffn-activation';
import { crossEntropyForwardBackward } from '../../src-main/engine/kernels/cross-entropy';
import { initialStats } from '../../src-main/engine/kernels/grad-clip';
import { rmsnormBackwardInput, rmsnormForward, rmsnormForwardHalf } from '../../src-main/engine/kernels/rmsnorm';
import { castF16 } from '../../src-main/engine/kernels/cast';
import { rope, ropeBackwardHalf, ropeTables } from '../../src-main/engine/kernels/rope';
import { projectionLayout } from '../../src-main/engine/kernels/attention';
import { testGpu } from '../helpers';
import { rand } from './linear-helpers';

const gpu = await testGpu();
const d = gpu.device;
afterAll(() => gpu.destroy());

const f32 = (n: number, data?: Float32Array): Tensor => {
  const t = createTensor(d, [n], 'f32');
  if (data) upload(d, t, data);
  return t;
};
const f16 = (n: number): Tensor => createTensor(d, [n], 'f16', 'f16');

function expectHalfOf(got: Float32Array, want: Float32Array, what: string): void {
  expect(got.length).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    const tol = Math.abs(want[i]) * 2 ** -11 + 2 ** -24;
    if (!(Math.abs(got[i] - want[i]) <= tol)) throw new Error(`${what}[${i}]: ${got[i]} vs ${want[i]}`);
  }
}

describe('f16 outputs of the mixed-precision kernels', () => {
  it.each([1, 2, 255, 1001])('swiglu forward and backward, n = %i', async (n) => {
    const a = rand(n, 1, 4), b = rand(n, 2, 3), dh = rand(n, 3, 50);
    const [ta, tb, tdh, th] = [f32(n, a), f32(n, b), f32(n, dh), f32(n)];
    const [h16, da16, db16] = [f16(n), f16(n), f16(n)];
    const p = new Program(d);
    swigluForwardHalf(p, n, ta, tb, h16);
    swigluBackwardHalf(p, n, ta, tb, tdh, da16, db16);
    swigluForward(p, n, ta, tb, th);
    p.submit();
    const [gotH, gotDa, gotDb, wantH, aAfter] = await Promise.all([download(d, h16), download(d, da16), download(d, db16), download(d, th), download(d, ta)]);
    expect(Array.from(aAfter)).toEqual(Array.from(a)); // the half entries leave a (and b) alone
    expectHalfOf(gotH, wantH, 'h');
    const q = new Program(d);
    swigluBackward(q, n, ta, tb, tdh); // in place: a ← da, b ← db
    q.submit();
    expectHalfOf(gotDa, await download(d, ta), 'da');
    expectHalfOf(gotDb, await download(d, tb), 'db');
  });

  // rmsnorm_forward_half replaces rmsnorm_forward + cast in mixed precision: the same halves bit for bit (a gain
  // of 1e5 pushes some values past f16's range: ±inf in both), the same 1/rms per row.
  it.each([[3, 2, 1], [5, 130, 3], [4, 512, 1], [2, 66, 1e5]])('rmsnorm forward as f16, rows %i, D %i, gain scale %d', async (rows, D, gain) => {
    const n = rows * D;
    const x = rand(n, 5, 4), w = rand(D, 6, gain);
    const [tx, tw, ty, r32, r16] = [f32(n, x), f32(D, w), f32(n), f32(rows), f32(rows)];
    const [y16, cast16] = [f16(n), f16(n)];
    const args = { rows, D, eps: 1e-5 };
    const p = new Program(d);
    rmsnormForwardHalf(p, args, tx, tw, y16, r16);
    rmsnormForward(p, args, tx, tw, ty, r32);
    castF16(p, ty, cast16);
    p.submit();
    const [got, want, gotR, wantR] = await Promise.all([download(d, y16), download(d, cast16), download(d, r16), download(d, r32)]);
    expect(Array.from(got)).toEqual(Array.from(want));
    expect(Array.from(gotR)).toEqual(Array.from(wantR));
    if (gain > 1000) expect(got.some((v) => !Number.isFinite(v))).toBe(true);
    expect(() => rmsnormForwardHalf(new Program(d), { rows: 1, D: 3, eps: 1e-5 }, tx, tw, y16, r16)).toThrow(/D must be even/);
  });

  // rmsnorm_backward_input_half: the same dx as rmsnorm_backward_input (accumulated or not), plus dx's f16 copy
  // bit for bit what cast.wgsl makes of it.
  it.each([[3, 2, false], [5, 130, true], [4, 512, true], [2, 66, false]])('rmsnorm backward input with its f16 copy, rows %i, D %i, accumulate %s', async (rows, D, accumulate) => {
    const n = rows * D;
    const x = rand(n, 7, 3), w = rand(D, 8, 2), dy = rand(n, 9, 20), r = rand(rows, 10, 1).map((v) => 0.5 + Math.abs(v)), init = rand(n, 11, 5);
    const [tx, tw, tdy, tr, dxA, dxB] = [f32(n, x), f32(D, w), f32(n, dy), f32(rows, r), f32(n, init), f32(n, init)];
    const [got16, want16] = [f16(n), f16(n)];
    const args = { rows, D, eps: 1e-5 };
    const p = new Program(d);
    rmsnormBackwardInput(p, args, tx, tw, tdy, tr, dxA, accumulate, undefined, got16);
    rmsnormBackwardInput(p, args, tx, tw, tdy, tr, dxB, accumulate);
    castF16(p, dxB, want16);
    p.submit();
    const [a, b, g, wnt] = await Promise.all([download(d, dxA), download(d, dxB), download(d, got16), download(d, want16)]);
    expect(Array.from(a)).toEqual(Array.from(b));
    expect(Array.from(g)).toEqual(Array.from(wnt));
    if (accumulate) expect(Array.from(a)).not.toEqual(Array.from(init));
  });

  // rope_backward_half: the f16 copy of the backward rotation (as rope_backward in place then a cast would give),
  // positions out of order, x left unchanged.
  it.each([[2, 3, 5, 4], [1, 2, 7, 32]])('rope backward as f16, B %i, H %i, T %i, dk %i', async (B, H, T, dk) => {
    const a = projectionLayout(B, T, H, dk);
    const n = B * T * H * dk;
    const x = rand(n, 12, 3);
    const tab = ropeTables(16, dk, 10000);
    const pos = Uint32Array.from({ length: T }, (_, t) => (t * 5 + 3) % 16);
    const tpos = createTensor(d, [T], 'pos', 'u32');
    upload(d, tpos, pos);
    const [tx, tcos, tsin, ref] = [f32(n, x), f32(tab.cos.length, tab.cos), f32(tab.sin.length, tab.sin), f32(n, x)];
    const [got16, want16] = [f16(n), f16(n)];
    const p = new Program(d);
    ropeBackwardHalf(p, a, tx, tpos, tcos, tsin, got16);
    rope(p, a, ref, tpos, tcos, tsin, true);
    castF16(p, ref, want16);
    p.submit();
    const [got, want, xAfter] = await Promise.all([download(d, got16), download(d, want16), download(d, tx)]);
    expect(Array.from(xAfter)).toEqual(Array.from(x));
    expectHalfOf(got, want, 'drope');
    expect(Array.from(got)).not.toEqual(Array.from(await download(d, (() => { const t = f16(n); const q = new Program(d); castF16(q, tx, t); q.submit(); return t; })())));
  });

  it('cross entropy gradient as f16, with the loss scale', async () => {
    const rows = 5, V = 1002;
    const logits = rand(rows * V, 4, 6);
    const targets = Uint32Array.from({ length: rows }, (_, i) => (i * 397) % V);
    const tl = f32(rows * V, logits);
    const tt = createTensor(d, [rows], 'targets', 'u32');
    upload(d, tt, targets);
    const stats = createTensor(d, [8], 'stats');
    upload(d, stats, initialStats(1024));
    const [rl16, rl32] = [f32(rows), f32(rows)];
    const g16 = f16(rows * V);
    const args = { rows, V, rowOffset: 0, totalRows: rows, writeGrad: true };
    const p = new Program(d);
    crossEntropyForwardBackward(p, args, tl, tt, rl16, stats, g16);
    p.submit();
    const [got, lossHalf, untouched] = [await download(d, g16), await download(d, rl16), await download(d, tl)];
    expect(Array.from(untouched)).toEqual(Array.from(logits));
    const q = new Program(d);
    crossEntropyForwardBackward(q, args, tl, tt, rl32, stats);
    q.submit();
    expectHalfOf(got, await download(d, tl), 'dlogits');
    expect(Array.from(lossHalf)).toEqual(Array.from(await download(d, rl32)));
  });

  it('cross entropy refuses an f16 gradient for an odd vocabulary', () => {
    const t = f32(6);
    expect(() => crossEntropyForwardBackward(new Program(d), { rows: 2, V: 3, rowOffset: 0, totalRows: 2, writeGrad: true }, t, t, t, t, f16(6))).toThrow(/even vocabulary/);
  });
});
