// The safetensors format (https://github.com/huggingface/safetensors): 8-byte little-endian header length, a JSON
// header {name: {dtype, shape, data_offsets}, __metadata__: {string: string}}, then the raw little-endian data.
// Hand-written because the format is twenty lines and the npm packages for it are unmaintained stubs.
import { openSync, readSync, closeSync, fstatSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { writeFileAtomic } from '../../util/atomic-write';
import { UserError } from '../../util/errors';

export type StDType = 'F32' | 'F64' | 'I64' | 'I32' | 'U16' | 'U8' | 'F16' | 'BF16';

const BYTES: Record<StDType, number> = { F32: 4, F64: 8, I64: 8, I32: 4, U16: 2, U8: 1, F16: 2, BF16: 2 };

export interface StTensor {
  dtype: StDType;
  shape: number[];
  /** Raw little-endian bytes. */
  data: Uint8Array;
}

export interface SafetensorsFile {
  tensors: Map<string, StTensor>;
  metadata: Record<string, string>;
}

export function readSafetensors(path: string): SafetensorsFile {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    throw new UserError(`cannot open ${path}: ${(e as Error).message}`, { code: 'FILE_NOT_FOUND', data: { path } });
  }
  try {
    const size = fstatSync(fd).size;
    const head = Buffer.alloc(8);
    if (size < 8 || readSync(fd, head, 0, 8, 0) !== 8) throw new UserError(`${path} is not a safetensors file (too short)`, { code: 'FILE_INVALID', data: { path } });
    const n = Number(head.readBigUInt64LE(0));
    if (n <= 0 || 8 + n > size) throw new UserError(`${path} is not a safetensors file (bad header length ${n})`, { code: 'FILE_INVALID', data: { path } });
    const hb = Buffer.alloc(n);
    readSync(fd, hb, 0, n, 8);
    let header: Record<string, unknown>;
    try {
      header = JSON.parse(hb.toString('utf8')) as Record<string, unknown>;
    } catch {
      throw new UserError(`${path} is not a safetensors file (header is not JSON)`, { code: 'FILE_INVALID', data: { path } });
    }
    const metadata = (header.__metadata__ ?? {}) as Record<string, string>;
    const tensors = new Map<string, StTensor>();
    const dataStart = 8 + n;
    for (const [name, raw] of Object.entries(header)) {
      if (name === '__metadata__') continue;
      const info = raw as { dtype: StDType; shape: number[]; data_offsets: [number, number] };
      if (!(info.dtype in BYTES)) throw new UserError(`${path}: tensor ${name} has unsupported dtype ${info.dtype}`, { code: 'FILE_INVALID', data: { path } });
      const [a, b] = info.data_offsets;
      const expected = info.shape.reduce((x, y) => x * y, 1) * BYTES[info.dtype];
      if (b - a !== expected || dataStart + b > size) throw new UserError(`${path}: tensor ${name} has inconsistent offsets (file truncated?)`, { code: 'FILE_INVALID', data: { path } });
      const data = new Uint8Array(b - a);
      readSync(fd, data, 0, b - a, dataStart + a);
      tensors.set(name, { dtype: info.dtype, shape: info.shape, data });
    }
    return { tensors, metadata };
  } finally {
    closeSync(fd);
  }
}

/** sha256 (hex) of tensor byte chunks in file order: what `dataSha256` of the written file gives. */
export function sha256OfTensors(tensors: Array<[string, StTensor]>): string {
  const h = createHash('sha256');
  for (const [, t] of tensors) h.update(t.data);
  return h.digest('hex');
}

/** sha256 (hex) of a safetensors file's data section (everything after the header), read in 16 MiB pieces. */
export function dataSha256(path: string): string {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    const head = Buffer.alloc(8);
    if (size < 8 || readSync(fd, head, 0, 8, 0) !== 8) throw new UserError(`${path} is not a safetensors file (too short)`, { code: 'CHECKPOINT_CORRUPT', data: { path } });
    const start = 8 + Number(head.readBigUInt64LE(0));
    const h = createHash('sha256');
    const buf = Buffer.alloc(16 << 20);
    for (let pos = start; pos < size; ) {
      const n = readSync(fd, buf, 0, Math.min(buf.length, size - pos), pos);
      if (n <= 0) break;
      h.update(buf.subarray(0, n));
      pos += n;
    }
    return h.digest('hex');
  } finally {
    closeSync(fd);
  }
}

/** Writes tensors (in the given order) and string metadata atomically. */
export function writeSafetensors(path: string, tensors: Array<[string, StTensor]>, metadata: Record<string, string> = {}): void {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) header.__metadata__ = metadata;
  let offset = 0;
  for (const [name, t] of tensors) {
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((Buffer.byteLength(json) + 8) % 8)) % 8);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  writeFileAtomic(path, [len, json, ...tensors.map(([, t]) => t.data)]);
}

export function f32Tensor(shape: number[], values: Float32Array): StTensor {
  return { dtype: 'F32', shape, data: new Uint8Array(values.buffer, values.byteOffset, values.byteLength) };
}

/** Values of a float tensor as float32 (F32 copied, F64 narrowed). */
export function asF32(t: StTensor): Float32Array {
  if (t.dtype === 'F32') return new Float32Array(t.data.slice().buffer);
  if (t.dtype === 'F64') return Float32Array.from(new Float64Array(t.data.slice().buffer));
  throw new Error(`expected a float tensor, got ${t.dtype}`);
}

/** Values of an integer tensor as uint32 (I64 must be in range). */
export function asU32(t: StTensor): Uint32Array {
  const d = t.data.slice().buffer;
  if (t.dtype === 'I64') {
    const big = new BigInt64Array(d);
    const out = new Uint32Array(big.length);
    for (let i = 0; i < big.length; i++) out[i] = Number(big[i]);
    return out;
  }
  if (t.dtype === 'I32') return Uint32Array.from(new Int32Array(d));
  if (t.dtype === 'U16') return Uint32Array.from(new Uint16Array(d));
  if (t.dtype === 'U8') return Uint32Array.from(new Uint8Array(d));
  throw new Error(`expected an integer tensor, got ${t.dtype}`);
}
