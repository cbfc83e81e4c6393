// Which kernels a model records with, chosen from its precision and checked against the device once, where the
// model is built: the choice travels inside every Program it records (gpu/program.ts KernelChoice), so models of
// different precisions share a device without touching each other's kernels.
import { hasF16TensorCores } from '../gpu/device';
import { f32Kernels, type KernelChoice } from '../gpu/program';
import { UserError } from '../../util/errors';

export type { KernelChoice } from '../gpu/program';

export type Precision = 'f32' | 'mixed';

/**
 * f32: linear.wgsl and attention.wgsl. mixed: the tensor-core kernels (linear_f16.wgsl, attention_f16.wgsl), which
 * need f16 subgroup matrices: a device without them gets a UserError naming the way out.
 */
export function chooseKernels(device: GPUDevice, precision: Precision, deviceName = 'this GPU'): KernelChoice {
  const base = f32Kernels(device);
  if (precision === 'f32') return base;
  if (!hasF16TensorCores(device)) {
    throw new UserError(`precision "mixed" needs f16 tensor cores through WebGPU subgroup matrices, which ${deviceName} does not expose; use precision "f32" (or "auto")`, {
      code: 'GPU_UNSUPPORTED', data: { precision, device: deviceName },
    });
  }
  return { ...base, linear: 'f16', attention: 'f16' };
}

/** A line for logs: which GEMM and attention kernels a choice records. */
export function describeKernels(k: KernelChoice): string {
  const linear = k.linear === 'f16' ? 'linear: f16 tensor cores (subgroup matrices, f32 accumulate)' : `linear: f32 tiled GEMM (${k.f32Variant} variant)`;
  const attention = k.attention === 'f16' ? 'attention: f16 tensor cores' : 'attention: f32';
  return `${linear}; ${attention}`;
}
