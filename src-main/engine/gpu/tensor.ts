// A typed view of (part of) a GPU buffer. Tensors inside a shared buffer (the flat parameter buffer) start at
// 256-byte boundaries so that each can be bound on its own.
export type DType = 'f32' | 'u32' | 'f16';

/** Bytes per element. */
export const bytesPerElement = (d: DType): number => (d === 'f16' ? 2 : 4);

export interface Tensor {
  buffer: GPUBuffer;
  /** Byte offset inside `buffer`; a multiple of 256. */
  byteOffset: number;
  shape: number[];
  dtype: DType;
  label: string;
}

export function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

export function byteLength(t: Tensor): number {
  return numel(t.shape) * bytesPerElement(t.dtype);
}

export function alignUp(n: number, a: number): number {
  return Math.ceil(n / a) * a;
}

/** The binding resource for a whole tensor. */
export function bind(t: Tensor): GPUBufferBinding {
  return { buffer: t.buffer, offset: t.byteOffset, size: Math.max(4, byteLength(t)) };
}

/**
 * The binding of the first n values of an f16 tensor, its size rounded up to `align` bytes: kernels write f16 as
 * packed pairs (u32, align 4) or groups of 8 (vec4<u32>, align 16). Throws if t is not f16 or has no such room.
 */
export function bindF16(t: Tensor, n: number, align = 4): GPUBufferBinding {
  const size = alignUp(n * 2, align);
  if (t.dtype !== 'f16' || numel(t.shape) < n || size > t.buffer.size - t.byteOffset) {
    throw new Error(`${t.label}: an f16 tensor with room for ${n} values (${size} bytes) is needed, got ${t.dtype} [${t.shape}]`);
  }
  return { buffer: t.buffer, offset: t.byteOffset, size };
}

export const STORAGE_USAGE = 0x80 /* STORAGE */ | 0x08 /* COPY_DST */ | 0x04; /* COPY_SRC */

export function createTensor(device: GPUDevice, shape: number[], label: string, dtype: DType = 'f32'): Tensor {
  const size = alignUp(Math.max(4, numel(shape) * bytesPerElement(dtype)), 16);
  const buffer = device.createBuffer({ size, usage: STORAGE_USAGE, label });
  return { buffer, byteOffset: 0, shape, dtype, label };
}

export function upload(device: GPUDevice, t: Tensor, data: Float32Array | Uint32Array): void {
  if (data.length !== numel(t.shape)) throw new Error(`upload to ${t.label}: ${data.length} values for shape [${t.shape}]`);
  device.queue.writeBuffer(t.buffer, t.byteOffset, data.buffer, data.byteOffset, data.byteLength);
}

/** Reads a tensor back to the CPU (waits for the queue). */
export async function download(device: GPUDevice, t: Tensor): Promise<Float32Array> {
  if (t.dtype === 'f16') return halfToFloat(new Uint16Array(await readBytes(device, t.buffer, t.byteOffset, alignUp(byteLength(t), 4))), numel(t.shape));
  const raw = await readBytes(device, t.buffer, t.byteOffset, byteLength(t));
  return new Float32Array(raw);
}

export async function readBytes(device: GPUDevice, buffer: GPUBuffer, offset: number, size: number): Promise<ArrayBuffer> {
  const padded = alignUp(size, 4);
  const staging = device.createBuffer({ size: padded, usage: 0x01 /* MAP_READ */ | 0x08 /* COPY_DST */ });
  const enc = device.createCommandEncoder();
  enc.copyBufferToBuffer(buffer, offset, staging, 0, padded);
  device.queue.submit([enc.finish()]);
  await staging.mapAsync(0x0001 /* GPUMapMode.READ */);
  const copy = staging.getMappedRange().slice(0, size);
  staging.unmap();
  staging.destroy();
  return copy;
}

/** IEEE half-precision bits to f32 values (first n). */
export function halfToFloat(h: Uint16Array, n = h.length): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const b = h[i];
    const sign = b & 0x8000 ? -1 : 1;
    const e = (b >> 10) & 0x1f;
    const m = b & 0x3ff;
    out[i] = e === 0 ? sign * m * 2 ** -24 : e === 31 ? (m ? NaN : sign * Infinity) : sign * (1 + m / 1024) * 2 ** (e - 15);
  }
  return out;
}
