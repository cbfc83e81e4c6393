// Kernel choice belongs to each runtime, not to the device: an f32 and a mixed-precision runtime built on one
// device, in either order, each record with their own kernels, also for programs recorded after the other runtime
// was built (forwardBackwardOnly is recorded on first use), and give bit for bit what they give alone. Mixed
// precision runs its tensor-core kernels with emulated subgroup matrices here (any adapter with shader-f16, e.g.
// llvmpipe); on a GPU with subgroup matrices LMWB_REAL_F16=1 runs the same test on the real kernels.
import { afterAll, describe, expect, it } from 'vitest';
import { emulatedKernelsDir } from '../kernels/emulated-subgroup-matrix';

const real = process.env.LMWB_REAL_F16 === '1';
if (!real) process.env.LMWB_KERNELS_DIR = emulatedKernelsDir();
// Emulated, the GEMMs read their leading dimensions from Params: written in as constants (the default), llvmpipe
// takes minutes over some of these pipelines (linear-f16-emulated.test.ts runs that path on three cases).
if (!real) process.env.LMWB_F16_CONST_LD = '0';
// Emulated, w1 and w3 stay two GEMMs (the fused w1|w3 pipelines take llvmpipe's LLVM many minutes; fused-ffn.test.ts).
if (!real) process.env.LMWB_FUSE_FFN = '0';
process.env.XDG_RUNTIME_DIR ??= '/tmp';

const { openGpu } = await import('../../src-main/engine/gpu/device');
const { f32Kernels } = await import('../../src-main/engine/gpu/program');
const { parseModelConfig } = await import('../../src-main/engine/model/config');
const { initParameters } = await import('../../src-main/engine/model/parameters');
const { TrainingRuntime, ForwardRuntime } = await import('../../src-main/engine/model/runtime');
const { setF16TileForTests, tile } = await import('../../src-main/engine/kernels/linear-f16');

const gpu = await openGpu();
afterAll(() => {
  setF16TileForTests(undefined);
  gpu.destroy();
});
const ok = gpu.info.features.includes('shader-f16');
// One small GEMM tile keeps llvmpipe's compile times reasonable (emulated subgroup matrices only).
if (!real) setF16TileForTests(tile(32, 64, 1, 2));

// Head dim 16 (the f16 attention takes it), even vocabulary (cross-entropy writes the f16 gradient directly).
const cfg = parseModelConfig({ vocab_size: 64, context_length: 16, d_model: 32, num_layers: 2, num_heads: 2, d_ff: 48 });
const B = 2;
const T = 16;
const ids = Uint32Array.from({ length: B * T }, (_, i) => (i * 7 + 3) % 64);
const targets = Uint32Array.from({ length: B * T }, (_, i) => (i * 5 + 1) % 64);
const { layoutParameters, parameterSpecs } = await import('../../src-main/engine/model/parameters');
const init = initParameters(layoutParameters(parameterSpecs(cfg)), 11);

type Precision = 'f32' | 'mixed';
const kernelsFor = (p: Precision) => (p === 'f32' ? f32Kernels(gpu.device) : { ...f32Kernels(gpu.device), linear: 'f16' as const, attention: 'f16' as const });

function build(p: Precision) {
  const rt = new TrainingRuntime(gpu, cfg, { batchSize: B, seqLen: T, maxGradNorm: 1, precision: p, kernels: real ? undefined : kernelsFor(p) });
  rt.setParameters(init);
  return rt;
}

/** Gradients of one forward+backward, then parameters after two steps, then a forward-only runtime's row losses. */
async function results(rt: InstanceType<typeof TrainingRuntime>) {
  rt.setBatch(ids, targets);
  rt.forwardBackwardOnly();
  const grads = await rt.readFlat('grads');
  rt.trainStep(1e-2, 1);
  rt.trainStep(1e-2, 2);
  const params = await rt.readFlat('params');
  const evalRows = (rt.evaluate(), await rt.readRowLoss());
  return { grads, params, evalRows };
}

const same = (a: Float32Array, b: Float32Array) => Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength), Buffer.from(b.buffer, b.byteOffset, b.byteLength)) === 0;
/** The kernel files and entry points a runtime's training program dispatches (pipeline labels `file:entry`). */
const pipelines = (rt: InstanceType<typeof TrainingRuntime>) => rt.trainProgram.steps.flatMap((s) => (s.kind === 'dispatch' ? [s.pipeline.label] : []));

describe.skipIf(!ok)(`f32 and mixed runtimes on one device (${real ? 'real' : 'emulated'} subgroup matrices)`, () => {
  const alone: Partial<Record<Precision, Awaited<ReturnType<typeof results>>>> = {};

  // Builds every pipeline of both runtimes: on llvmpipe with a cold shader cache the emulated tensor-core kernels
  // take minutes (112 s here on 2026-12-02 with part of the cache warm), hence the longer timeout.
  it('each precision alone (the reference for the side-by-side runs)', async () => {
    for (const p of ['f32', 'mixed'] as const) {
      const rt = build(p);
      try {
        alone[p] = await results(rt);
        // Mixed records every GEMM and attention on the tensor-core kernels; f32 none of them.
        const l = pipelines(rt);
        const tensorCore = l.filter((x) => x.startsWith('linear_f16:') || x.startsWith('attention_f16:'));
        if (p === 'mixed') {
          expect(l.filter((x) => x.startsWith('linear:') || x.startsWith('attention:'))).toEqual([]);
          expect(l).toContain('attention_f16:attention_forward');
          expect(tensorCore.length).toBeGreaterThan(20);
        } else {
          expect(tensorCore).toEqual([]);
        }
      } finally {
        rt.destroy();
      }
    }
    // Mixed is f32's computation with f16 products: close, not equal (the gradients carry the loss scale 2^16).
    const a = alone.f32!, m = alone.mixed!;
    const scale = 65536;
    let maxErr = 0, maxRef = 0;
    a.grads.forEach((g, i) => { maxErr = Math.max(maxErr, Math.abs(m.grads[i] / scale - g)); maxRef = Math.max(maxRef, Math.abs(g)); });
    expect(maxErr / maxRef).toBeLessThan(2e-2);
    expect(same(a.grads, m.grads)).toBe(false);
  }, 1_200_000); // llvmpipe, cold Mesa shader cache: 873 s for the file once on the 2-core development machine

  for (const order of [['f32', 'mixed'], ['mixed', 'f32']] as const) {
    it(`built ${order[0]} then ${order[1]}: both give what they give alone`, async () => {
      const first = build(order[0]);
      const second = build(order[1]);
      try {
        // The first runtime records forwardBackwardOnly now, after the second was built.
        for (const [p, rt] of [[order[0], first], [order[1], second]] as const) {
          const r = await results(rt);
          expect(same(r.grads, alone[p]!.grads), `${p} gradients`).toBe(true);
          expect(same(r.params, alone[p]!.params), `${p} parameters`).toBe(true);
          expect(same(r.evalRows, alone[p]!.evalRows), `${p} eval losses`).toBe(true);
        }
      } finally {
        first.destroy();
        second.destroy();
      }
    });
  }

  it('a forward-only runtime of either precision matches the training runtime of that precision', async () => {
    for (const p of ['f32', 'mixed'] as const) {
      const other = build(p === 'f32' ? 'mixed' : 'f32');
      const fwd = new ForwardRuntime(gpu, cfg, { batchSize: B, seqLen: T, precision: p, kernels: real ? undefined : kernelsFor(p) });
      const tr = build(p);
      try {
        fwd.setParameters(init);
        fwd.setBatch(ids, targets);
        fwd.evaluate();
        tr.setBatch(ids, targets);
        tr.evaluate();
        expect(same(await fwd.readRowLoss(), await tr.readRowLoss()), `${p} row losses`).toBe(true);
        for (const l of [0, 1, cfg.num_layers]) expect(same(await fwd.readResidual(l), await tr.readResidual(l)), `${p} residual ${l}`).toBe(true);
      } finally {
        fwd.destroy();
        tr.destroy();
        other.destroy();
      }
    }
  });
});
