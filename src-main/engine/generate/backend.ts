// The one place where generation picks its GEMM backend (f32 tiled, or f16 tensor cores for mixed precision).
// Today the backend is a per-device choice made through linear.ts; when programs carry their own backend, this
// is the only function to change.
import { hasF16TensorCores, type Gpu } from '../gpu/device';
import { selectLinearBackend } from '../kernels/linear';
import { UserError } from '../../util/errors';

export type DecodePrecision = 'f32' | 'mixed';

/** auto → mixed where the device has f16 tensor cores (subgroup matrices), else f32; mixed without them throws. */
export function resolveDecodePrecision(gpu: Gpu, want: 'auto' | DecodePrecision = 'auto'): DecodePrecision {
  const ok = hasF16TensorCores(gpu.device);
  if (want === 'mixed' && !ok) {
    throw new UserError(`precision "mixed" needs f16 tensor cores through WebGPU subgroup matrices, which ${gpu.info.description} does not expose; use precision "f32" (or "auto")`, { code: 'GPU_UNSUPPORTED' });
  }
  return want === 'auto' ? (ok ? 'mixed' : 'f32') : want;
}

/** Makes the linear ops recorded next on this device use the backend for `precision` (call before recording). */
export function useDecodeBackend(gpu: Gpu, precision: DecodePrecision): void {
  selectLinearBackend(gpu.device, precision === 'mixed' ? 'f16' : 'f32');
}
