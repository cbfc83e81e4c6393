// The tensor-core attention kernels (attention_f16.wgsl) against a float64 CPU reference: forward out and lse,
// backward dq, dk, dv, at awkward shapes (T not a multiple of 16 or of the block sizes, several heads and
// batches, two memory layouts, forced tiles). One suite, in one of two modes chosen by the adapter:
//   'subgroup matrices' (adapters with chromium-experimental-subgroup-matrix): the real kernel, plus the CS336 head
//     shape at T 256 and head dim 128.
//   'emulated subgroup matrices' (any adapter with shader-f16: llvmpipe, CI): the subgroup-matrix primitives are
//     replaced by plain WGSL computing the same 16×16 products (each invocation holds 8 elements of a result,
//     left/right operands are references into workgroup memory), so the kernel's own tiling, masking, prefetching
//     and softmax code runs everywhere. This does not check the real builtins' data layouts; the attention bench
//     (dist/attention-bench.mjs) checks the real kernel against the f32 kernel on the GPU machine.
// ATTN_F16_VERBOSE=1 prints each case's errors.
// Tolerances: q, k, v, dout and P (dS) are rounded to f16 (relative 2^-11 ≈ 4.9e-4 each) with f32 accumulation; an
// output sums many such products, so the max error over all elements, relative to the largest reference value of
// the tensor, is a few 1e-3 at worst. Bound: 5e-3 for out, 1e-2 for the gradients (one more f16 rounding: dS; dq
// and dk relative to max(max |ref|, max |dv|)), and 5e-3 absolute for lse (a log of a sum of f16-rounded scores).
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openGpu, type Gpu } from '../../src-main/engine/gpu/device';
import { f32Kernels, Program, type KernelChoice } from '../../src-main/engine/gpu/program';
import { createTensor, download, upload } from '../../src-main/engine/gpu/tensor';
import {
  attentionBackward, attentionForward, projectionLayout, type AttentionShape,
} from '../../src-main/engine/kernels/attention';
import { emulateAttentionF16 as emulate } from './emulated-subgroup-matrix';
import { dsScratchElements, f16AttentionTile, setF16AttentionTiles, type AttentionPass, type F16AttentionTile } from '../../src-main/engine/kernels/attention-f16';

/** Programs recorded with the f16 attention kernels (real or emulated subgroup matrices: not feature-checked). */
const f16Attention = (d: GPUDevice): KernelChoice => ({ ...f32Kernels(d), attention: 'f16' });

function rand(n: number, seed: number): Float32Array {
  let s = seed >>> 0 || 1;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    out[i] = (s / 4294967296) * 2 - 1;
  }
  return out;
}

interface Reference { out: Float64Array; lse: Float64Array; dq: Float64Array; dk: Float64Array; dv: Float64Array }

/** Causal attention forward and backward in float64, on the same strided layout as the GPU tensors. */
function reference(s: AttentionShape, n: number, q: Float32Array, k: Float32Array, v: Float32Array, dout: Float32Array): Reference {
  const { B, H, T, dk: D } = s;
  const scale = 1 / Math.sqrt(D);
  const r: Reference = { out: new Float64Array(n), lse: new Float64Array(B * H * T), dq: new Float64Array(n), dk: new Float64Array(n), dv: new Float64Array(n) };
  const at = (b: number, h: number, t: number) => b * s.sB + h * s.sH + t * s.sT;
  const P = new Float64Array(T * T);
  const dS = new Float64Array(T * T);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      P.fill(0);
      dS.fill(0);
      for (let i = 0; i < T; i++) {
        const qi = at(b, h, i);
        let m = -Infinity;
        for (let j = 0; j <= i; j++) {
          const kj = at(b, h, j);
          let d = 0;
          for (let c = 0; c < D; c++) d += q[qi + c] * k[kj + c];
          P[i * T + j] = d * scale;
          m = Math.max(m, d * scale);
        }
        let l = 0;
        for (let j = 0; j <= i; j++) l += Math.exp(P[i * T + j] - m);
        r.lse[(b * H + h) * T + i] = m + Math.log(l);
        for (let j = 0; j <= i; j++) P[i * T + j] = Math.exp(P[i * T + j] - m) / l;
        for (let c = 0; c < D; c++) {
          let o = 0;
          for (let j = 0; j <= i; j++) o += P[i * T + j] * v[at(b, h, j) + c];
          r.out[qi + c] = o;
        }
        let Di = 0;
        for (let c = 0; c < D; c++) Di += dout[qi + c] * r.out[qi + c];
        for (let j = 0; j <= i; j++) {
          const vj = at(b, h, j);
          let dp = 0;
          for (let c = 0; c < D; c++) dp += dout[qi + c] * v[vj + c];
          dS[i * T + j] = P[i * T + j] * (dp - Di);
        }
      }
      for (let i = 0; i < T; i++) {
        for (let c = 0; c < D; c++) {
          let a = 0;
          for (let j = 0; j <= i; j++) a += dS[i * T + j] * k[at(b, h, j) + c];
          r.dq[at(b, h, i) + c] = a * scale;
        }
      }
      for (let j = 0; j < T; j++) {
        for (let c = 0; c < D; c++) {
          let a = 0;
          let w = 0;
          for (let i = j; i < T; i++) {
            a += dS[i * T + j] * q[at(b, h, i) + c];
            w += P[i * T + j] * dout[at(b, h, i) + c];
          }
          r.dk[at(b, h, j) + c] = a * scale;
          r.dv[at(b, h, j) + c] = w;
        }
      }
    }
  }
  return r;
}

const maxAbs = (x: Float64Array): number => x.reduce((m, y) => Math.max(m, Math.abs(y)), 0);

/** max |gpu − ref| / max(max |ref|, floor), and the max abs difference. */
function errors(gpu: Float32Array, ref: Float64Array, floor = 0): { rel: number; abs: number } {
  let d = 0;
  for (let i = 0; i < ref.length; i++) d = Math.max(d, Math.abs(gpu[i] - ref[i]));
  return { rel: d / Math.max(maxAbs(ref), floor, 1e-30), abs: d };
}

/** ds: give the backward the f16 dS scratch (dq from backward_key's dS: dsum, backward_key_ds, backward_dq). */
export interface AttnCase { B: number; H: number; T: number; dk: number; layout: 'projection' | 'bhtd'; tiles?: Partial<Record<AttentionPass, F16AttentionTile>>; ds?: boolean }

async function runCase(gpu: Gpu, c: AttnCase): Promise<Record<'out' | 'lse' | 'dq' | 'dk' | 'dv', number>> {
  const s: AttentionShape = c.layout === 'projection'
    ? projectionLayout(c.B, c.T, c.H, c.dk)
    : { B: c.B, H: c.H, T: c.T, dk: c.dk, sB: c.H * c.T * c.dk, sH: c.T * c.dk, sT: c.dk };
  const n = c.B * c.H * c.T * c.dk;
  const d = gpu.device;
  const [hq, hk, hv, hdo] = [1, 2, 3, 4].map((seed) => rand(n, seed * 7919 + c.T));
  const ref = reference(s, n, hq, hk, hv, hdo);
  const mk = (label: string, data?: Float32Array) => {
    const t = createTensor(d, [n], label);
    if (data) upload(d, t, data);
    return t;
  };
  const q = mk('q', hq), k = mk('k', hk), v = mk('v', hv), dout = mk('dout', hdo);
  const out = mk('out'), dq = mk('dq'), dk = mk('dk'), dv = mk('dv');
  const lse = createTensor(d, [c.B * c.H * c.T], 'lse');
  const dsum = createTensor(d, [c.B * c.H * c.T], 'dsum');
  const dsT = c.ds ? createTensor(d, [dsScratchElements(c)], 'dsT', 'f16') : undefined;
  setF16AttentionTiles(c.tiles ?? {});
  try {
    const prog = new Program(d, f16Attention(d));
    attentionForward(prog, s, q, k, v, out, lse);
    attentionBackward(prog, s, q, k, v, out, lse, dout, { dq, dk, dv, dsum, dsT });
    prog.submit();
    await gpu.sync();
    // the f16 pipelines must actually have been recorded (not the f32 fallback), through dS where asked
    const labels = prog.steps.flatMap((st) => (st.kind === 'dispatch' && st.label.startsWith('attention_f16') ? [st.label] : []));
    expect(labels).toEqual(c.ds
      ? ['attention_f16:forward', 'attention_f16:dsum', 'attention_f16:backward_key', 'attention_f16:backward_dq']
      : ['attention_f16:forward', 'attention_f16:backward_query', 'attention_f16:backward_key']);
  } finally {
    setF16AttentionTiles({});
  }
  // dq and dk are measured against the gradients' scale, max |dv| (= max |Pᵀ·dout|), where larger: they can be ~0
  // (T 1: dS = P(dO·v − dO·o) = 0 exactly), while the f16 kernel's rounding error scales with |dout|·|v|.
  const gScale = maxAbs(ref.dv);
  const res = {
    out: errors(await download(d, out), ref.out).rel,
    lse: errors(await download(d, lse), ref.lse).abs,
    dq: errors(await download(d, dq), ref.dq, gScale).rel,
    dk: errors(await download(d, dk), ref.dk, gScale).rel,
    dv: errors(await download(d, dv), ref.dv).rel,
  };
  for (const t of [q, k, v, dout, out, dq, dk, dv, lse, dsum, ...(dsT ? [dsT] : [])]) t.buffer.destroy();
  return res;
}

function expectClose(r: Record<'out' | 'lse' | 'dq' | 'dk' | 'dv', number>): void {
  expect(r.out).toBeLessThan(5e-3);
  expect(r.lse).toBeLessThan(5e-3);
  expect(r.dq).toBeLessThan(1e-2);
  expect(r.dk).toBeLessThan(1e-2);
  expect(r.dv).toBeLessThan(1e-2);
}

const caseName = (c: AttnCase) => `B ${c.B} H ${c.H} T ${c.T} dk ${c.dk} ${c.layout}${c.tiles ? ` tiles ${JSON.stringify(c.tiles)}` : ''}`;

process.env.XDG_RUNTIME_DIR ??= '/tmp';
const gpu: Gpu = await openGpu();
afterAll(() => gpu.destroy());
const hasF16 = gpu.info.features.includes('shader-f16');
const hasMatrices = gpu.info.subgroupMatrix && hasF16;
const kernels = resolve(__dirname, '../../kernels');
const realSrc = readFileSync(join(kernels, 'attention_f16.wgsl'), 'utf8');

// Without subgroup matrices the kernels are read from a temporary folder holding the emulated attention_f16.wgsl
// (set before the first pipeline is built: shaders.ts resolves the folder once).
if (hasF16 && !hasMatrices) {
  const dir = mkdtempSync(join(tmpdir(), 'lmwb-attn16emu-'));
  copyFileSync(join(kernels, 'attention.wgsl'), join(dir, 'attention.wgsl'));
  writeFileSync(join(dir, 'attention_f16.wgsl'), emulate(realSrc));
  process.env.LMWB_KERNELS_DIR = dir;
  console.warn(`attention-f16: ${gpu.info.name} has no subgroup matrices (chromium-experimental-subgroup-matrix): ` +
    'checking the kernel logic with emulated subgroup matrices; the real builtins are checked on a GPU that has them ' +
    '(this file there, or dist/attention-bench.mjs on the GPU machine)');
}
const mode = hasMatrices ? 'subgroup matrices' : 'emulated subgroup matrices';

describe('attention_f16.wgsl source', () => {
  it('keeps the primitives section the emulation swaps, and the emulated source is matrix-free', () => {
    expect(realSrc).toContain('// ---- subgroup-matrix primitives');
    expect(() => emulate(realSrc)).not.toThrow();
  });
});

// Small shapes (llvmpipe runs every emulated 16×16 product lane by lane). Tiles: the defaults for the adapter's
// workgroup memory, plus forced ones so that every block relation is covered: BK larger than, equal to and smaller
// than the 16·NSG rows of a workgroup (key blocks starting inside a streamed query block), one subgroup.
const cases: AttnCase[] = [
  { B: 1, H: 1, T: 1, dk: 16, layout: 'projection' },
  { B: 2, H: 3, T: 17, dk: 32, layout: 'projection' },
  { B: 1, H: 2, T: 100, dk: 32, layout: 'bhtd' },
  { B: 1, H: 2, T: 71, dk: 64, layout: 'projection' },
  { B: 1, H: 1, T: 90, dk: 16, layout: 'projection', tiles: { forward: { NSG: 1, BK: 64 }, backward_query: { NSG: 1, BK: 32 }, backward_key: { NSG: 1, BK: 64 } } },
  { B: 1, H: 2, T: 83, dk: 32, layout: 'projection', tiles: { forward: { NSG: 2, BK: 16 }, backward_query: { NSG: 2, BK: 16 }, backward_key: { NSG: 2, BK: 16 } } },
  { B: 1, H: 1, T: 130, dk: 16, layout: 'bhtd', tiles: { forward: { NSG: 4, BK: 32 }, backward_query: { NSG: 4, BK: 16 }, backward_key: { NSG: 1, BK: 32 } } },
  // dq through the dS scratch (T a multiple of 16): default tiles, and backward_key / backward_dq blocks that
  // straddle each other's (keys of a 16-row workgroup against 32-key blocks, 64 queries against 16-key blocks)
  { B: 2, H: 2, T: 48, dk: 32, layout: 'projection', ds: true },
  { B: 1, H: 2, T: 96, dk: 16, layout: 'bhtd', ds: true, tiles: { backward_key: { NSG: 1, BK: 32 }, backward_dq: { NSG: 4, BK: 16 } } },
  // real hardware only: the CS336 head shape at full length, and the largest head dim
  ...(hasMatrices ? [
    { B: 2, H: 4, T: 256, dk: 32, layout: 'projection' },
    { B: 2, H: 4, T: 256, dk: 32, layout: 'projection', ds: true },
    { B: 1, H: 2, T: 200, dk: 128, layout: 'projection' },
  ] satisfies AttnCase[] : []),
];

describe.skipIf(!hasF16)(`attention f16 (${mode})`, () => {
  for (const c of cases) {
    it(caseName(c), async () => {
      const r = await runCase(gpu, c);
      if (process.env.ATTN_F16_VERBOSE) console.log(caseName(c), JSON.stringify(r));
      expectClose(r);
    });
  }
  it('picks tiles that fit the adapter for every supported head dim', () => {
    for (const dk of [16, 32, 64, 128]) {
      for (const pass of ['forward', 'backward_query', 'backward_key', 'backward_dq'] as const) expect(f16AttentionTile(gpu.device, pass, dk)).toBeDefined();
    }
  });
  it('falls back to the f32 kernel for head dims it does not take', () => {
    const prog = new Program(gpu.device, f16Attention(gpu.device));
    const s = projectionLayout(1, 8, 1, 24);
    const t = (n: number) => createTensor(gpu.device, [n], 't');
    attentionForward(prog, s, t(192), t(192), t(192), t(192), t(8));
    expect(prog.steps.map((st) => st.label)).toEqual(['attention:attention_forward']);
  });
});
