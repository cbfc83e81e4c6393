// cross_entropy.wgsl's four-at-a-time entries (V a multiple of 4) and its one-at-a-time entries (any V), each
// against a float64 oracle of the row losses and of the gradient (softmax − onehot) · scale / rows, f32 and f16
// gradient outputs both, and which entries the host picked. (The PyTorch reference case, V = 512, runs the vec4
// f32 entry through `npm run test:reference`.)
import { afterAll, describe, expect, it } from 'vitest';
import { Program } from '../../src-main/engine/gpu/program';
import { createTensor, download, upload, type Tensor } from '../../src-main/engine/gpu/tensor';
import { crossEntropyForwardBackward } from '../../src-main/engine/kernels/cross-entropy';
import { initialStats } from '../../src-main/engine/kernels/grad-clip';
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

function oracle(logits: Float32Array, targets: Uint32Array, rows: number, V: number, scale: number): { loss: Float64Array; grad: Float64Array } {
  const loss = new Float64Array(rows), grad = new Float64Array(rows * V);
  for (let r = 0; r < rows; r++) {
    let mx = -Infinity;
    for (let c = 0; c < V; c++) mx = Math.max(mx, logits[r * V + c]);
    let se = 0;
    for (let c = 0; c < V; c++) se += Math.exp(logits[r * V + c] - mx);
    loss[r] = mx + Math.log(se) - logits[r * V + targets[r]];
    for (let c = 0; c < V; c++) grad[r * V + c] = (Math.exp(logits[r * V + c] - mx) / se - (c === targets[r] ? 1 : 0)) * scale / rows;
  }
  return { loss, grad };
}

describe('cross entropy: vec4 and scalar entries against float64', () => {
  it.each([[1000, true], [1003, false], [10000, true], [6, false]])('V %i (vec4 entries: %s)', async (V, by4) => {
    const rows = 7;
    const logits = rand(rows * V, 31, 8);
    const targets = Uint32Array.from({ length: rows }, (_, i) => (i * 397 + 5) % V);
    const scale = 1024;
    const want = oracle(logits, targets, rows, V, scale);
    const tt = createTensor(d, [rows], 'targets', 'u32');
    upload(d, tt, targets);
    const stats = f32(8, initialStats(scale));
    const args = { rows, V, rowOffset: 0, totalRows: rows, writeGrad: true };
    const [tl, tl2] = [f32(rows * V, logits), f32(rows * V, logits)];
    const [rl, rl2] = [f32(rows), f32(rows)];
    const g16 = V % 2 === 0 ? createTensor(d, [rows * V], 'g16', 'f16') : undefined;
    const p = new Program(d);
    crossEntropyForwardBackward(p, args, tl, tt, rl, stats);
    if (g16) crossEntropyForwardBackward(p, args, tl2, tt, rl2, stats, g16);
    const entries = p.steps.flatMap((s) => (s.kind === 'dispatch' ? [s.pipeline.label] : []));
    const suffix = by4 ? '4' : '';
    expect(entries).toEqual([`cross_entropy:cross_entropy_forward_backward${suffix}`, ...(g16 ? [`cross_entropy:cross_entropy_forward_backward_half${suffix}`] : [])]);
    p.submit();
    const [grad, loss] = [await download(d, tl), await download(d, rl)];
    const close = (got: ArrayLike<number>, exp: Float64Array, rtol: number, atol: number, what: string): void => {
      for (let i = 0; i < exp.length; i++) {
        if (!(Math.abs(got[i] - exp[i]) <= atol + rtol * Math.abs(exp[i]))) throw new Error(`${what}[${i}]: ${got[i]} vs ${exp[i]}`);
      }
    };
    close(loss, want.loss, 1e-5, 1e-5, 'loss');
    close(grad, want.grad, 1e-4, 1e-6 * scale / rows, 'grad');
    if (g16) {
      const [grad16, loss2] = [await download(d, g16), await download(d, rl2)];
      expect(Array.from(loss2)).toEqual(Array.from(loss));
      expect(Array.from(await download(d, tl2))).toEqual(Array.from(logits)); // the f16 path leaves the logits
      for (let i = 0; i < grad.length; i++) {
        const tol = Math.abs(grad[i]) * 2 ** -11 + 2 ** -24;
        if (!(Math.abs(grad16[i] - grad[i]) <= tol)) throw new Error(`grad16[${i}]: ${grad16[i]} vs ${grad[i]}`);
      }
    }
  });
});
