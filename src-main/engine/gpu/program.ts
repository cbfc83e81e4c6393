// A recorded sequence of GPU work (dispatches, clears, copies) built once for fixed shapes and replayed every
// step: bind groups and uniform buffers are made at record time, so a step is one command buffer with no
// allocation. A Program carries the kernel choice it is recorded with (KernelChoice: which GEMM and attention
// kernels), so two models with different precisions can be recorded on one device in any order, and it owns the
// uniform and scratch buffers made while recording (destroy() releases them).
import { pipeline, type Defines } from './shaders';
import { isSoftwareAdapter } from './device';
import { alignUp } from './tensor';

export type Scalar = ['u32' | 'f32' | 'i32', number];

/** A small uniform buffer holding scalars in declaration order (matching a WGSL struct of 4-byte fields). */
export function uniformBuffer(device: GPUDevice, fields: Scalar[], label = 'params'): GPUBuffer {
  const size = Math.max(16, Math.ceil((fields.length * 4) / 16) * 16);
  const buf = device.createBuffer({ size, usage: 0x40 /* UNIFORM */ | 0x08 /* COPY_DST */, label });
  writeUniform(device, buf, fields);
  return buf;
}

export function writeUniform(device: GPUDevice, buf: GPUBuffer, fields: Scalar[]): void {
  const data = new ArrayBuffer(Math.max(16, Math.ceil((fields.length * 4) / 16) * 16));
  const view = new DataView(data);
  fields.forEach(([type, value], i) => {
    if (type === 'f32') view.setFloat32(i * 4, value, true);
    else if (type === 'i32') view.setInt32(i * 4, value, true);
    else {
      if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) throw new Error(`uniform u32 out of range: ${value}`);
      view.setUint32(i * 4, value, true);
    }
  });
  device.queue.writeBuffer(buf, 0, data);
}

export type Step =
  | { kind: 'dispatch'; label: string; pipeline: GPUComputePipeline; bindGroup: GPUBindGroup; workgroups: [number, number, number] }
  | { kind: 'clear'; label: string; buffer: GPUBuffer; offset: number; size: number }
  | { kind: 'copy'; label: string; src: GPUBuffer; srcOffset: number; dst: GPUBuffer; dstOffset: number; size: number };

export interface DispatchSpec {
  file: string;
  entry: string;
  defines?: Defines;
  /** Resources by binding number (group 0). Leave holes for bindings this entry point does not use. */
  bindings: Array<GPUBufferBinding | GPUBuffer | undefined>;
  workgroups: [number, number?, number?];
  label?: string;
}

/**
 * Which kernels the wrappers in kernels/ record with. linear: 'f32' (linear.wgsl) or 'f16' (linear_f16.wgsl, tensor
 * cores; f16 operands need it); attention: 'f32' (attention.wgsl) or 'f16' (attention_f16.wgsl, where the shape
 * allows); f32Variant: which tiling of linear.wgsl, 'cpu' for software adapters such as llvmpipe, else 'gpu'.
 * Choosing 'f16' is checked against the device features where the choice is made (kernels/choice.ts), not here:
 * tests run the f16 kernels' logic on any adapter with emulated subgroup matrices.
 */
export interface KernelChoice {
  linear: 'f32' | 'f16';
  attention: 'f32' | 'f16';
  f32Variant: 'gpu' | 'cpu';
}

/** f32 kernels everywhere, the f32 GEMM tiling suited to the adapter. */
export function f32Kernels(device: GPUDevice): KernelChoice {
  return { linear: 'f32', attention: 'f32', f32Variant: isSoftwareAdapter(device.adapterInfo) ? 'cpu' : 'gpu' };
}

/**
 * Scratch buffers shared by the programs of one owner (a runtime): dispatches run in queue order, so programs on
 * one queue can share a scratch area. A request for more than the current size makes a larger buffer; the older
 * ones stay alive (bind groups recorded earlier still name them) until destroy().
 */
export class ScratchPool {
  private readonly current = new Map<string, GPUBuffer>();
  private readonly all: GPUBuffer[] = [];
  constructor(readonly device: GPUDevice) {}

  get(name: string, bytes: number): GPUBuffer {
    let buf = this.current.get(name);
    if (!buf || buf.size < bytes) {
      buf = this.device.createBuffer({ size: alignUp(Math.max(bytes, 1024), 256), usage: 0x80 /* STORAGE */ | 0x08 /* COPY_DST */ | 0x04 /* COPY_SRC */, label: name });
      this.current.set(name, buf);
      this.all.push(buf);
    }
    return buf;
  }

  destroy(): void {
    for (const b of this.all) b.destroy();
    this.all.length = 0;
    this.current.clear();
  }
}

export interface ProgramOptions {
  /** Share scratch with other programs of the same owner (the owner destroys it); default: the program's own. */
  scratch?: ScratchPool;
}

export class Program {
  readonly steps: Step[] = [];
  /** Split-K and small-output scratch: this program's own (destroyed with it) or its owner's. */
  readonly scratch: ScratchPool;
  private readonly ownsScratch: boolean;
  private readonly uniforms: GPUBuffer[] = [];

  constructor(readonly device: GPUDevice, readonly kernels: KernelChoice = f32Kernels(device), opts: ProgramOptions = {}) {
    this.ownsScratch = !opts.scratch;
    this.scratch = opts.scratch ?? new ScratchPool(device);
  }

  /** A uniform buffer owned by this program (see uniformBuffer). */
  uniform(fields: Scalar[], label = 'params'): GPUBuffer {
    const buf = uniformBuffer(this.device, fields, label);
    this.uniforms.push(buf);
    return buf;
  }

  /** Releases the uniform buffers made while recording, and the scratch if the program owns it. */
  destroy(): void {
    for (const b of this.uniforms) b.destroy();
    this.uniforms.length = 0;
    if (this.ownsScratch) this.scratch.destroy();
    this.steps.length = 0;
  }

  dispatch(spec: DispatchSpec): void {
    const pipe = pipeline(this.device, spec.file, spec.entry, spec.defines);
    const entries: GPUBindGroupEntry[] = [];
    spec.bindings.forEach((b, i) => {
      if (b === undefined) return;
      entries.push({ binding: i, resource: 'buffer' in b && !('usage' in b) ? b : { buffer: b as GPUBuffer } });
    });
    const bindGroup = this.device.createBindGroup({ layout: pipe.getBindGroupLayout(0), entries, label: spec.label ?? spec.entry });
    const [x, y = 1, z = 1] = spec.workgroups;
    const max = this.device.limits.maxComputeWorkgroupsPerDimension;
    if (x > max || y > max || z > max) throw new Error(`${spec.file}:${spec.entry}: grid ${x}x${y}x${z} exceeds ${max} per dimension`);
    if (x === 0 || y === 0 || z === 0) return;
    this.steps.push({ kind: 'dispatch', label: spec.label ?? `${spec.file}:${spec.entry}`, pipeline: pipe, bindGroup, workgroups: [x, y, z] });
  }

  clear(buffer: GPUBuffer, offset = 0, size = buffer.size - offset, label = 'clear'): void {
    this.steps.push({ kind: 'clear', label, buffer, offset, size });
  }

  copy(src: GPUBuffer, srcOffset: number, dst: GPUBuffer, dstOffset: number, size: number, label = 'copy'): void {
    this.steps.push({ kind: 'copy', label, src, srcOffset, dst, dstOffset, size });
  }

  /** Appends other's steps (other keeps owning its buffers: destroy it after this program). */
  append(other: Program): void {
    this.steps.push(...other.steps);
  }

  /** Encodes every step; consecutive dispatches share one compute pass. */
  encode(encoder: GPUCommandEncoder): void {
    let pass: GPUComputePassEncoder | undefined;
    for (const s of this.steps) {
      if (s.kind === 'dispatch') {
        if (!pass) pass = encoder.beginComputePass();
        pass.setPipeline(s.pipeline);
        pass.setBindGroup(0, s.bindGroup);
        pass.dispatchWorkgroups(...s.workgroups);
        continue;
      }
      if (pass) {
        pass.end();
        pass = undefined;
      }
      if (s.kind === 'clear') encoder.clearBuffer(s.buffer, s.offset, s.size);
      else encoder.copyBufferToBuffer(s.src, s.srcOffset, s.dst, s.dstOffset, s.size);
    }
    pass?.end();
  }

  submit(): void {
    const enc = this.device.createCommandEncoder();
    this.encode(enc);
    this.device.queue.submit([enc.finish()]);
  }
}

/** Splits a 1-D count of workgroups into a 2-D grid within the per-dimension limit. */
export function grid(workgroups: number, maxPerDim = 65535): [number, number] {
  if (workgroups <= maxPerDim) return [workgroups, 1];
  const y = Math.ceil(workgroups / maxPerDim);
  return [Math.ceil(workgroups / y), y];
}

/** Grid for kernels that run one workgroup per row. */
export const rowGrid = (rows: number): [number, number] => grid(rows);
/** Grid for elementwise kernels with 256 threads per workgroup. */
export const elemGrid = (n: number): [number, number] => grid(Math.ceil(n / 256));
