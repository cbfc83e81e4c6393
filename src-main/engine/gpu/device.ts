// Opens a WebGPU device through Dawn (npm package `webgpu`) with the features and limits the engine needs.
//
// Dawn lifetime rule: the object returned by create() and the adapter must stay reachable for as long as any
// device made from them is in use. If V8 collects them, dawn.node's event loop touches a freed instance and the
// process dies seconds into steady GPU work. `held` keeps them for the life of the process.
import { mkdirSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { create, globals } from 'webgpu';
import { UserError } from '../../util/errors';
import { trackResource, releaseResource } from '../../util/live-resources';
import { applyGpuSelection } from './select';

const held: unknown[] = [];

export const DAWN_FLAGS = ['enable-dawn-features=allow_unsafe_apis,vulkan_enable_f16_on_nvidia'];

/**
 * Dawn clamps every array index in every shader (its robustness transform) unless told otherwise. Our kernels keep
 * their accesses in bounds themselves (audited; the test suite runs without the clamps), and the clamps cost the
 * tensor-core GEMMs about 1.5x on the H100 (BENCHMARKS.md), so they are off unless LMWB_SAFE_KERNELS=1.
 */
export function safeKernels(): boolean {
  return process.env.LMWB_SAFE_KERNELS === '1';
}

/** What the tensor-core kernels (linear_f16.wgsl, attention_f16.wgsl) need: f16 subgroup matrices. */
export const F16_TENSOR_CORE_FEATURES = ['shader-f16', 'subgroups', 'subgroup-size-control', 'chromium-experimental-subgroup-matrix'] as const;

/** Whether the device was created with everything the tensor-core kernels need. */
export function hasF16TensorCores(device: GPUDevice): boolean {
  return F16_TENSOR_CORE_FEATURES.every((f) => device.features.has(f as GPUFeatureName));
}

const WANTED_FEATURES = [
  'shader-f16',
  'subgroups',
  'subgroup-size-control',
  'timestamp-query',
  'chromium-experimental-subgroup-matrix',
] as const;

/** Whether an adapter is a CPU implementation (llvmpipe, lavapipe, SwiftShader): memory checks and the f32 GEMM tiling follow. */
export function isSoftwareAdapter(info: Pick<GPUAdapterInfo, 'architecture' | 'description' | 'device'> | undefined): boolean {
  if (!info) return false;
  return info.architecture === 'software' || /llvmpipe|lavapipe|swiftshader/i.test(`${info.description ?? ''} ${info.device ?? ''}`);
}

export interface GpuInfo {
  /** The product name, e.g. "NVIDIA H200" (Dawn's adapter `device`, else its `description`). */
  name: string;
  /** The driver as Dawn describes it (on Vulkan: the driver's name and version), e.g. "NVIDIA: 580.159.04 580.159.4.0". */
  driver: string;
  vendor: string;
  architecture: string;
  /** Dawn's adapter description, as it comes (kept for older readers; prefer name and driver). */
  description: string;
  isSoftware: boolean;
  features: string[];
  maxBufferSize: number;
  maxStorageBufferBindingSize: number;
  subgroupMatrix: boolean;
  /** Dawn's shader bounds clamping (robustness) is on: LMWB_SAFE_KERNELS=1. */
  boundsChecks: boolean;
  /** The GPU chosen with LMWB_GPU (gpu/select.ts), e.g. "gpu 1 of 2, pci 0000:41:00.0". */
  selected?: string;
}

export interface Gpu {
  device: GPUDevice;
  adapter: GPUAdapter;
  info: GpuInfo;
  /** Resolves once all submitted work is done; rejects with the first uncaptured GPU error, if any. */
  sync(): Promise<void>;
  destroy(): void;
}

let globalsInstalled = false;

function missingDriverMessage(): string {
  const lines = [
    'no WebGPU adapter: Dawn found no usable Vulkan driver.',
    process.platform === 'linux'
      ? 'Install a Vulkan driver: your GPU vendor\'s (NVIDIA, AMD radv, Intel anv), or for CPU-only machines Mesa\'s llvmpipe ' +
        '(Debian/Ubuntu package mesa-vulkan-drivers, Mesa 24 or newer; on Debian bookworm take it from bookworm-backports: ' +
        '`apt-get install -t bookworm-backports mesa-vulkan-drivers`), plus the Vulkan loader (libvulkan1), and set XDG_RUNTIME_DIR.'
      : 'Update your GPU driver; WebGPU needs Vulkan, Metal or D3D12.',
  ];
  return lines.join(' ');
}

export interface OpenGpuOptions {
  /** Extra Dawn toggles/flags, e.g. 'disable-dawn-features=timestamp_quantization'. */
  extraFlags?: string[];
  /** Ask for timestamp queries without quantization (for per-kernel timing). */
  precise_timestamps?: boolean;
}

/** Vulkan's WSI layers want XDG_RUNTIME_DIR; headless boxes (CI, servers, Slurm jobs) often lack it. */
function ensureRuntimeDir(): void {
  if (process.env.XDG_RUNTIME_DIR || process.platform !== 'linux') return;
  const dir = join(os.tmpdir(), `lmwb-runtime-${process.getuid?.() ?? 0}`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  process.env.XDG_RUNTIME_DIR = dir;
}

export async function openGpu(opts: OpenGpuOptions = {}): Promise<Gpu> {
  ensureRuntimeDir();
  // LMWB_GPU=<index>: pick the physical GPU in the Vulkan loader before Dawn starts it (see gpu/select.ts).
  const selected = applyGpuSelection();
  if (!globalsInstalled) {
    Object.assign(globalThis, globals);
    globalsInstalled = true;
  }
  // Extra Dawn toggles: disable_robustness (see safeKernels), and LMWB_DAWN_TOGGLES="a,b" for measurements.
  const toggles = [...(safeKernels() ? [] : ['disable_robustness']), ...(process.env.LMWB_DAWN_TOGGLES?.split(',').filter(Boolean) ?? [])];
  const flags = DAWN_FLAGS.map((f) => (f.startsWith('enable-dawn-features=') && toggles.length ? `${f},${toggles.join(',')}` : f));
  if (opts.precise_timestamps) flags.push('disable-dawn-features=timestamp_quantization');
  if (opts.extraFlags) flags.push(...opts.extraFlags);
  const gpu = create(flags);
  held.push(gpu);
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) throw new UserError(missingDriverMessage(), { code: 'NO_GPU_DRIVER' });
  held.push(adapter);

  const features = WANTED_FEATURES.filter((f) => adapter.features.has(f as GPUFeatureName)) as GPUFeatureName[];
  const L = adapter.limits;
  const device = await adapter.requestDevice({
    requiredFeatures: features,
    requiredLimits: {
      maxBufferSize: L.maxBufferSize,
      maxStorageBufferBindingSize: L.maxStorageBufferBindingSize,
      maxComputeWorkgroupStorageSize: L.maxComputeWorkgroupStorageSize,
      maxComputeInvocationsPerWorkgroup: L.maxComputeInvocationsPerWorkgroup,
      maxComputeWorkgroupSizeX: L.maxComputeWorkgroupSizeX,
      maxComputeWorkgroupSizeY: L.maxComputeWorkgroupSizeY,
      maxStorageBuffersPerShaderStage: L.maxStorageBuffersPerShaderStage,
      maxComputeWorkgroupsPerDimension: L.maxComputeWorkgroupsPerDimension,
    },
  });
  held.push(device);
  const buffers = trackBuffers(device);

  const errors: string[] = [];
  device.addEventListener('uncapturederror', (ev) => {
    const e = (ev as GPUUncapturedErrorEvent).error;
    errors.push(e.message);
  });
  let lost: string | undefined;
  void device.lost.then((info) => {
    if (info.reason !== 'destroyed') lost = info.message;
  });

  const ai = adapter.info;
  const info: GpuInfo = {
    name: gpuName(ai),
    driver: ai.description,
    vendor: ai.vendor,
    architecture: ai.architecture,
    description: ai.description,
    isSoftware: isSoftwareAdapter(ai),
    features: [...features],
    maxBufferSize: device.limits.maxBufferSize,
    maxStorageBufferBindingSize: device.limits.maxStorageBufferBindingSize,
    subgroupMatrix: features.includes('chromium-experimental-subgroup-matrix' as GPUFeatureName),
    boundsChecks: safeKernels(),
    ...(selected ? { selected } : {}),
  };

  return {
    device,
    adapter,
    info,
    async sync() {
      await device.queue.onSubmittedWorkDone();
      if (lost) throw new Error(`GPU device lost: ${lost}`);
      if (errors.length) {
        const first = errors.splice(0, errors.length);
        throw new Error(`GPU error: ${first[0]}${first.length > 1 ? ` (and ${first.length - 1} more)` : ''}`);
      }
    },
    destroy() {
      device.destroy();
      // A destroyed device frees every buffer made from it.
      for (const b of buffers) releaseResource('gpu-buffer', b);
      buffers.clear();
      releaseResource('gpu-device', device);
    },
  };
}

/** Words of Dawn's device ids spelt as their makers spell them. */
const PRODUCT_WORDS: Record<string, string> = {
  nvidia: 'NVIDIA', amd: 'AMD', ati: 'ATI', intel: 'Intel', apple: 'Apple', arm: 'Arm', qualcomm: 'Qualcomm',
  geforce: 'GeForce', rtx: 'RTX', gtx: 'GTX', quadro: 'Quadro', tesla: 'Tesla', radeon: 'Radeon', arc: 'Arc',
  iris: 'Iris', xe: 'Xe', uhd: 'UHD', hd: 'HD', pro: 'Pro', max: 'Max', ultra: 'Ultra', mali: 'Mali', adreno: 'Adreno',
};

/**
 * The adapter's product name: Dawn's `device` when it has one, else its `description`, else the vendor. Dawn
 * reports some devices by an id from its GPU tables ("nvidia-h200"): those are spelt out ("NVIDIA H200").
 */
export function gpuName(ai: Pick<GPUAdapterInfo, 'vendor' | 'device' | 'description'>): string {
  const device = ai.device?.trim() ?? '';
  if (/^[a-z0-9]+(-[a-z0-9]+)+$/.test(device)) {
    return device.split('-').map((w) => PRODUCT_WORDS[w] ?? (/\d/.test(w) ? w.toUpperCase() : w[0].toUpperCase() + w.slice(1))).join(' ');
  }
  return device || ai.description?.trim() || ai.vendor || 'unknown GPU';
}

/** One line naming the adapter for logs and benchmarks: "NVIDIA H200 (nvidia hopper; driver NVIDIA: 580.159.04 …)". */
export function describeGpu(info: GpuInfo): string {
  const arch = [info.vendor, info.architecture].filter(Boolean).join(' ');
  const driver = info.driver && info.driver !== info.name ? `driver ${info.driver}` : '';
  const extra = [arch, driver].filter(Boolean).join('; ');
  return extra ? `${info.name} (${extra})` : info.name;
}

/**
 * Registers every buffer made on the device in util/live-resources ('gpu-buffer') until it is destroyed, so a
 * long-lived process (queue worker, app backend) and the tests can see that an operation released what it took.
 */
function trackBuffers(device: GPUDevice): Set<GPUBuffer> {
  const live = new Set<GPUBuffer>();
  trackResource('gpu-device', device);
  const createBuffer = device.createBuffer.bind(device);
  device.createBuffer = (desc: GPUBufferDescriptor): GPUBuffer => {
    const buf = createBuffer(desc);
    live.add(buf);
    trackResource('gpu-buffer', buf);
    const destroy = buf.destroy.bind(buf);
    buf.destroy = (): undefined => {
      live.delete(buf);
      releaseResource('gpu-buffer', buf);
      return destroy();
    };
    return buf;
  };
  return live;
}
