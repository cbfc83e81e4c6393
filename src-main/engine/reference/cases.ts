// Checks one PyTorch reference case (a safetensors file with `kind` and `config` metadata) against the engine's
// WGSL kernels. The same code checks any directory of cases of these kinds, whatever their shapes.
import type { Gpu } from '../gpu/device';
import { Program } from '../gpu/program';
import { createTensor, upload, download, type Tensor } from '../gpu/tensor';
import { readSafetensors, asF32, asU32, type SafetensorsFile } from '../checkpoint/safetensors';
import { checkClose, checkGrad, type Check } from './compare';
import { linearForward } from '../kernels/linear';
import { embeddingForward } from '../kernels/embedding';
import { rmsnormForward, rmsnormBackwardInput, rmsnormBackwardWeight, rmsnormPartialSize } from '../kernels/rmsnorm';
import { rope, ropeTables } from '../kernels/rope';
import { softmaxForward } from '../kernels/softmax';
import { attentionForward, attentionBackward } from '../kernels/attention';
import { crossEntropyForwardBackward, crossEntropyReduce } from '../kernels/cross-entropy';
import { gradNorm, gradClipApply, partialsNeeded, initialStats, STATS } from '../kernels/grad-clip';
import { adamwStep, setAdamWStep } from '../kernels/adamw';
import { learningRate, type CosineSchedule } from '../optim/schedule';
import { parseModelConfig } from '../model/config';
import { TransformerRuntime } from '../model/transformer';
import { runReferenceTraining } from '../train/reference-run';
import { checkGenerateGreedy } from './generate-case';

const FWD_RTOL = 1e-4;
const FWD_ATOL = 1e-4;
const LOGITS_ATOL = 1e-3;
const GRAD_TOL = 1e-4;

export interface CaseResult {
  file: string;
  kind: string;
  checks: Check[];
  ok: boolean;
  error?: string;
  /** Why the case was not checked in this mode. */
  skipped?: string;
  seconds: number;
}

class Case {
  constructor(readonly st: SafetensorsFile) {}
  shape(name: string): number[] { return this.get(name).shape; }
  get(name: string) {
    const t = this.st.tensors.get(name);
    if (!t) throw new Error(`case has no tensor ${name}`);
    return t;
  }
  f32(name: string): Float32Array { return asF32(this.get(name)); }
  u32(name: string): Uint32Array { return asU32(this.get(name)); }
  config(): Record<string, unknown> { return JSON.parse(this.st.metadata.config ?? '{}') as Record<string, unknown>; }
}

function tensorFrom(device: GPUDevice, data: Float32Array | Uint32Array, shape: number[], label: string): Tensor {
  const t = createTensor(device, shape, label, data instanceof Uint32Array ? 'u32' : 'f32');
  upload(device, t, data);
  return t;
}

const prod = (s: number[]) => s.reduce((a, b) => a * b, 1);

async function run(gpu: Gpu, record: (p: Program) => void): Promise<void> {
  const p = new Program(gpu.device);
  try {
    record(p);
    p.submit();
    await gpu.sync();
  } finally {
    p.destroy();
  }
}

type Checker = (gpu: Gpu, c: Case) => Promise<Check[]>;

const checkers: Record<string, Checker> = {
  async linear(gpu, c) {
    const d = gpu.device;
    const [outF, inF] = c.shape('weight');
    const rows = prod(c.shape('in')) / inF;
    const x = tensorFrom(d, c.f32('in'), [rows, inF], 'in');
    const w = tensorFrom(d, c.f32('weight'), [outF, inF], 'weight');
    const y = createTensor(d, [rows, outF], 'out');
    await run(gpu, (p) => linearForward(p, { rows, inFeatures: inF, outFeatures: outF }, x, w, y));
    return [checkClose('out', await download(d, y), c.f32('out'), FWD_RTOL, FWD_ATOL)];
  },

  async embedding(gpu, c) {
    const d = gpu.device;
    const [V, D] = c.shape('weight');
    const ids = c.u32('ids');
    const w = tensorFrom(d, c.f32('weight'), [V, D], 'weight');
    const idt = tensorFrom(d, ids, [ids.length], 'ids');
    const out = createTensor(d, [ids.length, D], 'out');
    await run(gpu, (p) => embeddingForward(p, { rows: ids.length, D, vocab: V }, idt, w, out));
    return [checkClose('out', await download(d, out), c.f32('out'), FWD_RTOL, FWD_ATOL)];
  },

  async rmsnorm(gpu, c) {
    const d = gpu.device;
    const D = c.shape('weight')[0];
    const rows = prod(c.shape('in')) / D;
    const eps = Number(c.config().eps ?? 1e-5);
    const a = { rows, D, eps };
    const x = tensorFrom(d, c.f32('in'), [rows, D], 'in');
    const w = tensorFrom(d, c.f32('weight'), [D], 'weight');
    const dy = tensorFrom(d, c.f32('grad_out'), [rows, D], 'grad_out');
    const y = createTensor(d, [rows, D], 'out');
    const r = createTensor(d, [rows], 'r');
    const dx = createTensor(d, [rows, D], 'dx');
    const dw = createTensor(d, [D], 'dw');
    await run(gpu, (p) => {
      rmsnormForward(p, a, x, w, y, r);
      rmsnormBackwardInput(p, a, x, w, dy, r, dx, false);
      rmsnormBackwardWeight(p, a, x, dy, r, dw, createTensor(d, [rmsnormPartialSize(rows, D)], 'partial'));
    });
    return [
      checkClose('out', await download(d, y), c.f32('out'), FWD_RTOL, FWD_ATOL),
      checkGrad('grad_in', await download(d, dx), c.f32('grad_in'), GRAD_TOL),
      checkGrad('grad_weight', await download(d, dw), c.f32('grad_weight'), GRAD_TOL),
    ];
  },

  async rope(gpu, c) {
    const d = gpu.device;
    const [B, H, T, dk] = c.shape('in');
    const cfg = c.config();
    const theta = Number(cfg.theta ?? 10000);
    const pos = c.u32('positions');
    const maxPos = Math.max(...pos) + 1;
    const tab = ropeTables(maxPos, dk, theta);
    const x = tensorFrom(d, c.f32('in'), [B, H, T, dk], 'x');
    const positions = tensorFrom(d, pos, [T], 'positions');
    const cos = tensorFrom(d, tab.cos, [maxPos, dk / 2], 'cos');
    const sin = tensorFrom(d, tab.sin, [maxPos, dk / 2], 'sin');
    const shape = { B, H, T, dk, sB: H * T * dk, sH: T * dk, sT: dk };
    await run(gpu, (p) => rope(p, shape, x, positions, cos, sin, false));
    const checks = [checkClose('out', await download(d, x), c.f32('out'), FWD_RTOL, FWD_ATOL)];
    // The backward is the inverse rotation: it must bring the output back to the input.
    await run(gpu, (p) => rope(p, shape, x, positions, cos, sin, true));
    checks.push(checkClose('backward(out) = in', await download(d, x), c.f32('in'), FWD_RTOL, FWD_ATOL));
    return checks;
  },

  async softmax(gpu, c) {
    const d = gpu.device;
    const shape = c.shape('in');
    const N = shape[shape.length - 1];
    const rows = prod(shape) / N;
    const x = tensorFrom(d, c.f32('in'), [rows, N], 'in');
    const y = createTensor(d, [rows, N], 'out');
    await run(gpu, (p) => softmaxForward(p, rows, N, x, y));
    return [checkClose('out', await download(d, y), c.f32('out'), FWD_RTOL, FWD_ATOL)];
  },

  async causal_attention(gpu, c) {
    const d = gpu.device;
    const [B, H, T, dk] = c.shape('q');
    const shape = { B, H, T, dk, sB: H * T * dk, sH: T * dk, sT: dk };
    const n = [B, H, T, dk];
    const q = tensorFrom(d, c.f32('q'), n, 'q');
    const k = tensorFrom(d, c.f32('k'), n, 'k');
    const v = tensorFrom(d, c.f32('v'), n, 'v');
    const dout = tensorFrom(d, c.f32('grad_out'), n, 'grad_out');
    const out = createTensor(d, n, 'out');
    const lse = createTensor(d, [B * H * T], 'lse');
    const g = { dq: createTensor(d, n, 'dq'), dk: createTensor(d, n, 'dk'), dv: createTensor(d, n, 'dv'), dsum: createTensor(d, [B * H * T], 'dsum') };
    await run(gpu, (p) => {
      attentionForward(p, shape, q, k, v, out, lse);
      attentionBackward(p, shape, q, k, v, out, lse, dout, g);
    });
    return [
      checkClose('out', await download(d, out), c.f32('out'), FWD_RTOL, FWD_ATOL),
      checkGrad('grad_q', await download(d, g.dq), c.f32('grad_q'), GRAD_TOL),
      checkGrad('grad_k', await download(d, g.dk), c.f32('grad_k'), GRAD_TOL),
      checkGrad('grad_v', await download(d, g.dv), c.f32('grad_v'), GRAD_TOL),
    ];
  },

  async cross_entropy(gpu, c) {
    const d = gpu.device;
    const shape = c.shape('logits');
    const V = shape[shape.length - 1];
    const rows = prod(shape) / V;
    const logits = tensorFrom(d, c.f32('logits'), [rows, V], 'logits');
    const targets = tensorFrom(d, c.u32('targets'), [rows], 'targets');
    const rowLoss = createTensor(d, [rows], 'row_loss');
    const loss = createTensor(d, [4], 'loss');
    const stats = tensorFrom(d, initialStats(), [STATS.size], 'stats');
    await run(gpu, (p) => {
      crossEntropyForwardBackward(p, { rows, V, rowOffset: 0, totalRows: rows, writeGrad: true }, logits, targets, rowLoss, stats);
      crossEntropyReduce(p, rows, rowLoss, loss);
    });
    return [
      checkClose('loss', (await download(d, loss)).subarray(0, 1), c.f32('loss'), FWD_RTOL, FWD_ATOL),
      checkGrad('grad_logits', await download(d, logits), c.f32('grad_logits'), GRAD_TOL),
    ];
  },

  async grad_clip(gpu, c) {
    const d = gpu.device;
    const cfg = c.config();
    const g0 = c.f32('grad0');
    const g1 = c.f32('grad1');
    const t0 = tensorFrom(d, g0, [g0.length], 'grad0');
    const t1 = tensorFrom(d, g1, [g1.length], 'grad1');
    const ranges = [t0, t1];
    const partials = createTensor(d, [partialsNeeded(ranges)], 'partials');
    const stats = tensorFrom(d, initialStats(), [STATS.size], 'stats');
    await run(gpu, (p) => {
      gradNorm(p, ranges, partials, stats, Number(cfg.max_l2_norm), Number(cfg.eps ?? 1e-6));
      gradClipApply(p, ranges, stats);
    });
    return [
      checkClose('clipped0', await download(d, t0), c.f32('clipped0'), FWD_RTOL, FWD_ATOL),
      checkClose('clipped1', await download(d, t1), c.f32('clipped1'), FWD_RTOL, FWD_ATOL),
    ];
  },

  async adamw(gpu, c) {
    const d = gpu.device;
    const cfg = c.config() as { lr: number; betas: [number, number]; eps: number; weight_decay: number };
    const p0 = c.f32('param_init');
    const grads = c.f32('grads');
    const want = c.f32('params_after_each_step');
    const steps = c.shape('grads')[0];
    const n = p0.length;
    const param = tensorFrom(d, p0, [n], 'param');
    const grad = createTensor(d, [n], 'grad');
    const m = createTensor(d, [n], 'm');
    const v = createTensor(d, [n], 'v');
    const stats = tensorFrom(d, initialStats(), [STATS.size], 'stats');
    const prog = new Program(d);
    const stepU = adamwStep(prog, [{ param, grad, m, v }], stats);
    const hyper = { beta1: cfg.betas[0], beta2: cfg.betas[1], eps: cfg.eps, weightDecay: cfg.weight_decay };
    const checks: Check[] = [];
    for (let s = 0; s < steps; s++) {
      upload(d, grad, grads.subarray(s * n, (s + 1) * n));
      setAdamWStep(d, stepU, cfg.lr, s + 1, hyper);
      prog.submit();
      await gpu.sync();
      checks.push(checkClose(`params after step ${s + 1}`, await download(d, param), want.subarray(s * n, (s + 1) * n), FWD_RTOL, FWD_ATOL));
    }
    prog.destroy();
    return checks;
  },

  async lr_schedule(_gpu, c) {
    const cfg = c.config() as unknown as CosineSchedule;
    const t = c.u32('t');
    const got = Array.from(t, (x) => learningRate(x, cfg));
    return [checkClose('lr', got, c.f32('lr'), 1e-6, 1e-9)];
  },

  async lm_forward_backward(gpu, c) {
    const cfg = parseModelConfig(c.config(), 'config');
    const [B, T] = c.shape('input_ids');
    const rt = new TransformerRuntime(gpu, cfg, { batchSize: B, seqLen: T, training: true, captureLogits: true, logitsChunkBytes: 16 * 1024 });
    try {
      const flat = new Float32Array(rt.layout.totalFloats);
      for (const s of rt.layout.slots) flat.set(c.f32(s.name), s.offset);
      rt.setParameters(flat);
      rt.setBatch(c.u32('input_ids'), c.u32('targets'));
      rt.forwardBackwardOnly();
      await gpu.sync();
      rt.checkAllocation();
      const checks = [
        checkClose('logits', await rt.readLogits(), c.f32('logits'), FWD_RTOL, LOGITS_ATOL),
        checkClose('loss', [await rt.readLoss()], c.f32('loss'), FWD_RTOL, FWD_ATOL),
      ];
      const grads = await rt.readFlat('grads');
      for (const s of rt.layout.slots) {
        checks.push(checkGrad(`grad.${s.name}`, grads.subarray(s.offset, s.offset + s.numel), c.f32(`grad.${s.name}`), GRAD_TOL));
      }
      const extra = [...c.st.tensors.keys()].filter((k) => k.startsWith('grad.') && !rt.layout.byName.has(k.slice(5)));
      if (extra.length) checks.push({ name: 'parameter set', ok: false, maxErr: Infinity, detail: `case has gradients for parameters the model lacks: ${extra.join(', ')}` });
      return checks;
    } finally {
      rt.destroy();
    }
  },

  async train_run(gpu, c) {
    const cfg = c.config();
    const init = new Map<string, Float32Array>();
    for (const k of c.st.tensors.keys()) if (k.startsWith('init.')) init.set(k.slice(5), c.f32(k));
    const losses = await runReferenceTraining(gpu, {
      config: cfg,
      data: c.u32('data'),
      batchStarts: c.u32('batch_starts'),
      steps: c.shape('batch_starts')[0],
      batchSize: c.shape('batch_starts')[1],
      init,
      precision: suitePrecision,
    });
    const want = c.f32('losses');
    const checks: Check[] = [];
    const lc = cfg.loss_check as { window: number; rel_tol: number } | undefined;
    if (lc) {
      // Long runs (tools/parity): the mean loss of the last `window` steps within rel_tol of PyTorch's.
      const w = Math.min(lc.window, want.length);
      const mean = (a: Float32Array) => a.subarray(a.length - w).reduce((x, y) => x + y, 0) / w;
      const ours = mean(losses);
      const theirs = mean(want);
      const rel = Math.abs(ours - theirs) / Math.abs(theirs);
      checks.push({ name: `mean loss of the last ${w} steps`, ok: rel <= lc.rel_tol, maxErr: rel, detail: `ours ${ours.toFixed(4)}, PyTorch ${theirs.toFixed(4)}, relative difference ${(100 * rel).toFixed(2)}% (limit ${(100 * lc.rel_tol).toFixed(1)}%)` });
      const worst = checkClose('per-step losses (information)', losses, want, 0, Infinity);
      checks.push({ ...worst, ok: true });
    } else if (suitePrecision === 'mixed') {
      checks.push(checkClose('losses, all steps (mixed precision)', losses, want, 0, 5e-2));
    } else {
      checks.push(checkClose('loss at step 1', losses.subarray(0, 1), want.subarray(0, 1), 0, 1e-4));
      checks.push(checkClose('losses, all steps', losses, want, 0, 3e-2));
    }
    return checks;
  },

  generate_greedy: (gpu, c) => checkGenerateGreedy(gpu, c.st),
};

/** f32 checks every kind at the reference tolerances; mixed (f16 matmuls) checks the training runs only. */
export type SuitePrecision = 'f32' | 'mixed';
let suitePrecision: SuitePrecision = 'f32';
export function setSuitePrecision(p: SuitePrecision): void {
  suitePrecision = p;
}
const MIXED_KINDS = new Set(['train_run']);

export const KNOWN_KINDS = Object.keys(checkers);

export async function checkCase(gpu: Gpu, file: string): Promise<CaseResult> {
  const t0 = performance.now();
  let kind = '?';
  try {
    const st = readSafetensors(file);
    kind = st.metadata.kind ?? '?';
    const checker = checkers[kind];
    if (!checker) throw new Error(`unknown kind "${kind}" (known: ${KNOWN_KINDS.join(', ')})`);
    if (suitePrecision === 'mixed' && !MIXED_KINDS.has(kind)) {
      return { file, kind, checks: [], ok: true, skipped: 'f32-only kind (run without --precision mixed)', seconds: 0 };
    }
    const checks = await checker(gpu, new Case(st));
    return { file, kind, checks, ok: checks.every((x) => x.ok), seconds: (performance.now() - t0) / 1000 };
  } catch (e) {
    return { file, kind, checks: [], ok: false, error: (e as Error).message, seconds: (performance.now() - t0) / 1000 };
  }
}
