// The one place where generation picks its kernels (f32 tiled GEMMs, or f16 tensor cores for mixed precision): the
// choice is made once per decoder and carried by every Program it records (gpu/program.ts KernelChoice), so a
// decoder and a training runtime of another precision share a device without touching each other's kernels.
import { hasF16TensorCores, type Gpu } from '../gpu/device';
import { chooseKernels, type KernelChoice } from '../kernels/choice';
import { UserError } from '../../util/errors';

export type DecodePrecision = 'f32' | 'mixed';

/** auto → mixed where the device has f16 tensor cores (subgroup matrices), else f32; mixed without them throws. */
export function resolveDecodePrecision(gpu: Gpu, want: 'auto' | DecodePrecision = 'auto'): DecodePrecision {
  const ok = hasF16TensorCores(gpu.device);
  if (want === 'mixed' && !ok) {
    throw new UserError(`precision "mixed" needs f16 tensor cores through WebGPU subgroup matrices, which ${gpu.info.name} does not expose; use precision "f32" (or "auto")`, { code: 'GPU_UNSUPPORTED' });
  }
  return want === 'auto' ? (ok ? 'mixed' : 'f32') : want;
}

/**
 * The kernels a decoder of this precision records with: the GEMMs follow the precision; attention over the cache
 * has its own kernel (attention_decode.wgsl), so only the linear choice matters here.
 */
export function decodeKernels(gpu: Gpu, precision: DecodePrecision): KernelChoice {
  return chooseKernels(gpu.device, precision, gpu.info.name);
}
