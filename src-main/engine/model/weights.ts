// The model's flat parameter buffers (and, for training, gradients and AdamW's moments) with typed views: a
// parameter in f32, as a GEMM operand (its f16 copy in mixed precision), or its gradient.
import { createTensor, type Tensor, STORAGE_USAGE } from '../gpu/tensor';
import type { Program } from '../gpu/program';
import type { ParamLayout, ParamSlot } from './parameters';
import { castF16 } from '../kernels/cast';
import { UserError } from '../../util/errors';

const MiB = 1024 * 1024;
export const fmtMiB = (b: number): string => `${(b / MiB).toFixed(0)} MiB`;

export class ParameterBuffers {
  readonly params: Tensor;
  /** Mixed precision: the parameters in f16 (same element offsets), refreshed at the start of every forward. */
  readonly params16?: Tensor;
  readonly grads?: Tensor;
  readonly m?: Tensor;
  readonly v?: Tensor;

  /** Allocates into `owned` (released by the caller, also when a later allocation throws). */
  constructor(device: GPUDevice, readonly layout: ParamLayout, o: { training: boolean; halfCopy: boolean }, owned: Tensor[]) {
    const n = layout.totalFloats;
    const flat = (label: string): Tensor => {
      const size = n * 4;
      if (size > device.limits.maxBufferSize) {
        throw new UserError(`the model's ${label} need ${fmtMiB(size)} in one buffer, above this device's maxBufferSize ${fmtMiB(device.limits.maxBufferSize)}; use a smaller model`, {
          code: 'BATCH_TOO_LARGE', data: { bytes: size, maxBufferSize: device.limits.maxBufferSize },
        });
      }
      const t: Tensor = { buffer: device.createBuffer({ size, usage: STORAGE_USAGE, label }), byteOffset: 0, shape: [n], dtype: 'f32', label };
      owned.push(t);
      return t;
    };
    this.params = flat('parameters');
    if (o.halfCopy) {
      this.params16 = createTensor(device, [n], 'parameters (f16 copy)', 'f16');
      owned.push(this.params16);
    }
    if (o.training) {
      this.grads = flat('gradients');
      this.m = flat('adam m');
      this.v = flat('adam v');
    }
  }

  slot(name: string): ParamSlot {
    const s = this.layout.byName.get(name);
    if (!s) throw new Error(`no parameter ${name}`);
    return s;
  }

  /** A parameter in f32. */
  weight(name: string): Tensor {
    const s = this.slot(name);
    return { buffer: this.params.buffer, byteOffset: s.offset * 4, shape: s.shape, dtype: 'f32', label: s.name };
  }

  /** A parameter as a GEMM operand: its f16 copy in mixed precision, else the f32 parameter. */
  gemmWeight(name: string): Tensor {
    if (!this.params16) return this.weight(name);
    const s = this.slot(name);
    return { buffer: this.params16.buffer, byteOffset: s.offset * 2, shape: s.shape, dtype: 'f16', label: `${s.name} (f16)` };
  }

  /**
   * Consecutive parameters as one [Σ rows, cols] tensor (a fused GEMM's weight: q, k and v projections), in the
   * GEMM operand's precision, or undefined when they are not adjacent in the layout or differ in width.
   */
  gemmWeightRun(names: string[]): Tensor | undefined {
    const run = this.run(names);
    if (!run) return undefined;
    const w = this.gemmWeight(names[0]);
    return { ...w, shape: run, label: `${names.join(' | ')}${w.dtype === 'f16' ? ' (f16)' : ''}` };
  }

  /** The gradients of consecutive parameters as one tensor (see gemmWeightRun). */
  gradRun(names: string[]): Tensor | undefined {
    const run = this.run(names);
    return run ? { ...this.grad(names[0]), shape: run, label: `grad ${names.join(' | ')}` } : undefined;
  }

  /** The shape [Σ rows, cols] of 2-D parameters that follow each other in the flat buffer, else undefined. */
  private run(names: string[]): number[] | undefined {
    const slots = names.map((n) => this.slot(n));
    const cols = slots[0].shape[1];
    for (let i = 0; i < slots.length; i++) {
      if (slots[i].shape.length !== 2 || slots[i].shape[1] !== cols) return undefined;
      if (i > 0 && slots[i].offset !== slots[i - 1].offset + slots[i - 1].numel) return undefined;
    }
    return [slots.reduce((a, s) => a + s.shape[0], 0), cols];
  }

  grad(name: string): Tensor {
    if (!this.grads) throw new Error('these parameters have no gradients (forward-only)');
    const s = this.slot(name);
    return { buffer: this.grads.buffer, byteOffset: s.offset * 4, shape: s.shape, dtype: 'f32', label: `grad ${s.name}` };
  }

  /** A flat buffer cut into bindable ranges (AdamW, the grad norm and the f16 cast run over all parameters at once). */
  ranges(flat: Tensor, maxBindingBytes: number): Tensor[] {
    const maxFloats = Math.floor(maxBindingBytes / 4 / 128) * 128; // f16 views stay 256-byte aligned
    const out: Tensor[] = [];
    for (let start = 0; start < this.layout.totalFloats; start += maxFloats) {
      const n = Math.min(maxFloats, this.layout.totalFloats - start);
      out.push({ buffer: flat.buffer, byteOffset: start * 4, shape: [n], dtype: 'f32', label: `${flat.label}[${start}..]` });
    }
    return out;
  }

  /** Mixed precision: refresh the f16 copy of the parameters (start of every forward; the optimizer updates the f32 ones). */
  recordCast(p: Program, maxBindingBytes: number): void {
    if (!this.params16) return;
    for (const r of this.ranges(this.params, maxBindingBytes)) {
      const h: Tensor = { buffer: this.params16.buffer, byteOffset: r.byteOffset / 2, shape: r.shape, dtype: 'f16', label: 'parameters (f16)' };
      castF16(p, r, h, undefined, 'cast parameters → f16');
    }
  }
}
