// A recorded sequence of GPU work (dispatches, clears, copies) built once for fixed shapes and replayed every
// step: bind groups and uniform buffers are made at record time, so a step is one command buffer with no
// allocation.
import { pipeline, type Defines } from './shaders';

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

export class Program {
  readonly steps: Step[] = [];
  constructor(readonly device: GPUDevice) {}

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
