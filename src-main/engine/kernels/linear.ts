// linear: y = x·Wᵀ and its backward products, on row-major f32 tensors, with two backends:
//   'f32'  linear.wgsl, a tiled f32 GEMM that runs on any adapter (the default);
//   'f16'  linear_f16.wgsl, tensor cores through chromium-experimental-subgroup-matrix: f32 tensors, f16 products,
//          f32 accumulation (see linear-f16.ts). Chosen per device with selectLinearBackend().
import { type Program, uniformBuffer } from '../gpu/program';
import { bind, byteLength, STORAGE_USAGE, type Tensor } from '../gpu/tensor';
import { hasF16TensorCores } from '../gpu/device';
import { gemmF16, type Gemm } from './linear-f16';

const TILE = 64;

export type LinearBackend = 'f32' | 'f16';

const backends = new WeakMap<GPUDevice, LinearBackend>();

/**
 * Chooses the linear backend for a device, once at start-up (before recording programs). 'auto' takes 'f16' where
 * the device has subgroup matrices (and shader-f16, subgroups, subgroup-size-control), else 'f32'. Asking for
 * 'f16' on a device without them throws. Returns the backend now in use.
 */
export function selectLinearBackend(device: GPUDevice, want: 'auto' | LinearBackend = 'auto'): LinearBackend {
  const ok = hasF16TensorCores(device);
  if (want === 'f16' && !ok) throw new Error('linear backend f16 needs the device features shader-f16, subgroups, subgroup-size-control and chromium-experimental-subgroup-matrix');
  const b: LinearBackend = want === 'f32' ? 'f32' : ok ? 'f16' : 'f32';
  backends.set(device, b);
  return b;
}

/** Sets the backend without checking device features: for tests that run linear_f16.wgsl with emulated subgroup matrices. */
export function forceLinearBackendForTests(device: GPUDevice, b: LinearBackend): void {
  backends.set(device, b);
}

/** The backend linear ops record with on this device ('f32' unless selectLinearBackend chose otherwise). */
export function linearBackend(device: GPUDevice): LinearBackend {
  return backends.get(device) ?? 'f32';
}

/** A line for logs: which GEMM the linear ops use. */
export function describeLinearBackend(device: GPUDevice): string {
  return linearBackend(device) === 'f16'
    ? 'linear: f16 tensor cores (subgroup matrices, f32 accumulate)'
    : `linear: f32 tiled GEMM (${f32Variant(device)} variant)`;
}

export interface LinearOptions {
  /**
   * f16 backend: power of two A is multiplied by before the f16 conversion (results are divided by it). For the
   * backward products A is dy: pass about 1/max|dy| (e.g. the token count when dy carries the mean's 1/(B·T)) so
   * that small gradients do not flush to zero in f16. Ignored by the f32 backend.
   */
  aScale?: number;
}

const f32Variants = new WeakMap<GPUDevice, 'gpu' | 'cpu'>();

/**
 * Which variant of linear.wgsl the f32 backend uses: 'cpu' (8×8 threads of 8×8 outputs, K step 32) on software
 * adapters such as llvmpipe, 'gpu' (16×16 threads of 4×4 outputs) elsewhere.
 */
export function f32Variant(device: GPUDevice): 'gpu' | 'cpu' {
  let v = f32Variants.get(device);
  if (!v) {
    const info = (device as GPUDevice & { adapterInfo?: GPUAdapterInfo }).adapterInfo;
    const soft = !!info && (info.architecture === 'software' || /llvmpipe|swiftshader|lavapipe/i.test(info.description ?? ''));
    f32Variants.set(device, (v = soft ? 'cpu' : 'gpu'));
  }
  return v;
}

/** Overrides the f32 variant for a device (benchmarks: the other variant's speed on the same adapter). */
export function setF32Variant(device: GPUDevice, v: 'gpu' | 'cpu'): void {
  f32Variants.set(device, v);
}

/** The f16 kernel stores whole 16×16 result tiles, so its output binding must be at least 1 KiB. */
function f16Fits(g: Gemm): boolean {
  return g.C.buffer.size - g.C.byteOffset >= 1024;
}

const smallOut = new WeakMap<GPUDevice, GPUBuffer>();

function gemm(prog: Program, g: Gemm): void {
  const half = g.A.dtype === 'f16' || g.B.dtype === 'f16';
  if (linearBackend(prog.device) === 'f16') {
    if (f16Fits(g)) {
      gemmF16(prog, g);
      return;
    }
    if (half) {
      // Output under 1 KiB with f16 operands (tiny models): compute into a 1 KiB scratch holding a copy of C (so
      // rows outside a row range and accumulate both keep C's values) and copy it back.
      let buf = smallOut.get(prog.device);
      if (!buf) smallOut.set(prog.device, (buf = prog.device.createBuffer({ size: 1024, usage: STORAGE_USAGE, label: 'linear small output' })));
      const bytes = byteLength(g.C);
      const tmp: Tensor = { buffer: buf, byteOffset: 0, shape: g.C.shape, dtype: 'f32', label: 'linear small output' };
      prog.copy(g.C.buffer, g.C.byteOffset, buf, 0, bytes, `${g.label} (old output)`);
      gemmF16(prog, { ...g, C: tmp });
      prog.copy(buf, 0, g.C.buffer, g.C.byteOffset, bytes, `${g.label} (small output)`);
      return;
    }
  }
  if (half) throw new Error(`linear ${g.label}: f16 operands need the f16 backend (selectLinearBackend)`);
  const params = uniformBuffer(prog.device, [
    ['u32', g.M], ['u32', g.N], ['u32', g.K],
    ['u32', g.lda], ['u32', g.ldb], ['u32', g.ldc],
    ['u32', g.offA ?? 0], ['u32', g.offB ?? 0], ['u32', g.offC ?? 0],
    ['u32', g.accumulate ? 1 : 0],
  ]);
  prog.dispatch({
    file: 'linear', entry: f32Variant(prog.device) === 'cpu' ? `${g.entry}_cpu` : g.entry, label: g.label,
    bindings: [params, bind(g.A), bind(g.B), bind(g.C)],
    workgroups: [Math.ceil(g.N / TILE), Math.ceil(g.M / TILE)],
  });
}

export interface LinearShape {
  /** Number of rows of x (batch·time) in this call. */
  rows: number;
  inFeatures: number;
  outFeatures: number;
  /** First row used in x / dx (row ranges of larger tensors). */
  xRow?: number;
  /** First row used in y / dy. */
  yRow?: number;
}

/** y[rows,out] (+)= x[rows,in] · W[out,in]ᵀ */
export function linearForward(prog: Program, s: LinearShape, x: Tensor, W: Tensor, y: Tensor, accumulate = false, label = 'linear_forward', opts: LinearOptions = {}): void {
  gemm(prog, {
    entry: 'linear_forward', A: x, B: W, C: y, M: s.rows, N: s.outFeatures, K: s.inFeatures,
    lda: s.inFeatures, ldb: s.inFeatures, ldc: s.outFeatures, offA: (s.xRow ?? 0) * s.inFeatures, offC: (s.yRow ?? 0) * s.outFeatures,
    accumulate, label, aScale: opts.aScale,
  });
}

/** dx[rows,in] (+)= dy[rows,out] · W[out,in] */
export function linearBackwardInput(prog: Program, s: LinearShape, dy: Tensor, W: Tensor, dx: Tensor, accumulate = false, label = 'linear_backward_input', opts: LinearOptions = {}): void {
  gemm(prog, {
    entry: 'linear_backward_input', A: dy, B: W, C: dx, M: s.rows, N: s.inFeatures, K: s.outFeatures,
    lda: s.outFeatures, ldb: s.inFeatures, ldc: s.inFeatures, offA: (s.yRow ?? 0) * s.outFeatures, offC: (s.xRow ?? 0) * s.inFeatures,
    accumulate, label, aScale: opts.aScale,
  });
}

/** dW[out,in] (+)= dy[rows,out]ᵀ · x[rows,in] */
export function linearBackwardWeight(prog: Program, s: LinearShape, dy: Tensor, x: Tensor, dW: Tensor, accumulate = false, label = 'linear_backward_weight', opts: LinearOptions = {}): void {
  gemm(prog, {
    entry: 'linear_backward_weight', A: dy, B: x, C: dW, M: s.outFeatures, N: s.inFeatures, K: s.rows,
    lda: s.outFeatures, ldb: s.inFeatures, ldc: s.inFeatures, offA: (s.yRow ?? 0) * s.outFeatures, offB: (s.xRow ?? 0) * s.inFeatures,
    accumulate, label, aScale: opts.aScale,
  });
}
