// A copy of some f32 tensors taken on the GPU at one point of the queue, read back in pieces while later work
// runs. take() queues one copy of every source into a buffer of its own (GPU time only: a few hundred MB copy in
// well under a millisecond), so the snapshot holds their values after the work submitted so far and before
// anything submitted later. read() then brings it to the host CHUNK_BYTES at a time: each piece is copied into a
// small mappable buffer behind whatever was queued meanwhile, mapped, and copied out, so the host never copies
// hundreds of MB out of mapped memory in one go (on the H200, reading a checkpoint's 272 MB and a diag's 515 MB
// back whole cost the training loop about 0.2 and 1.4 s: BENCHMARKS.md, "GEMM round 5"). The trainer's checkpoints
// and diag records use it; the snapshot's buffer is released when the read ends (or by release()).
import { alignUp, byteLength, type Tensor } from './tensor';

/** Bytes read back per piece. */
export const CHUNK_BYTES = 8 * 2 ** 20;

export class GpuSnapshot {
  private buffer?: GPUBuffer;
  private readonly offsets: number[] = [];

  private constructor(private readonly device: GPUDevice, readonly sources: readonly Tensor[]) {}

  /** Queues the copy of every source (f32) into a snapshot buffer; nothing is waited for. */
  static take(device: GPUDevice, sources: readonly Tensor[], label = 'snapshot'): GpuSnapshot {
    const s = new GpuSnapshot(device, sources);
    let size = 0;
    for (const t of sources) {
      if (t.dtype !== 'f32') throw new Error(`snapshot: ${t.label} is ${t.dtype}, not f32`);
      s.offsets.push(size);
      size += alignUp(byteLength(t), 256);
    }
    const buffer = (s.buffer = device.createBuffer({ size: Math.max(size, 4), usage: 0x04 /* COPY_SRC */ | 0x08 /* COPY_DST */, label }));
    const enc = device.createCommandEncoder({ label });
    sources.forEach((t, i) => enc.copyBufferToBuffer(t.buffer, t.byteOffset, buffer, s.offsets[i], alignUp(byteLength(t), 4)));
    device.queue.submit([enc.finish()]);
    return s;
  }

  /**
   * The sources' values as Float32Arrays, read piece by piece in order; `onPiece(source, start, values)` sees each
   * piece as it lands (values = elements start .. start + values.length of that source; a view into the result,
   * or with keep false into a reused piece buffer, and then read returns no arrays).
   * The snapshot buffer is released at the end, also on failure.
   */
  async read(onPiece?: (source: number, start: number, values: Float32Array) => void, keep = true): Promise<Float32Array[]> {
    const buffer = this.buffer;
    if (!buffer) throw new Error('snapshot: already read or released');
    // keep false: only onPiece sees the values (one piece-sized array, reused), and read returns [].
    const out = keep ? this.sources.map((t) => new Float32Array(byteLength(t) / 4)) : [];
    const scratch = keep ? undefined : new Float32Array(CHUNK_BYTES / 4);
    try {
      for (let i = 0; i < this.sources.length; i++) {
        const bytes = byteLength(this.sources[i]);
        for (let pos = 0; pos < bytes; pos += CHUNK_BYTES) {
          const n = Math.min(CHUNK_BYTES, bytes - pos);
          const staging = this.device.createBuffer({ size: alignUp(n, 4), usage: 0x01 /* MAP_READ */ | 0x08 /* COPY_DST */, label: 'snapshot piece' });
          try {
            const enc = this.device.createCommandEncoder();
            enc.copyBufferToBuffer(buffer, this.offsets[i] + pos, staging, 0, alignUp(n, 4));
            this.device.queue.submit([enc.finish()]);
            await staging.mapAsync(0x0001 /* GPUMapMode.READ */);
            const view = scratch ? scratch.subarray(0, n / 4) : new Float32Array(out[i].buffer, pos, n / 4);
            view.set(new Float32Array(staging.getMappedRange(0, alignUp(n, 4)), 0, n / 4));
            staging.unmap();
            onPiece?.(i, pos / 4, view);
          } finally {
            staging.destroy();
          }
        }
      }
      return out;
    } finally {
      this.release();
    }
  }

  /** Releases the snapshot buffer (idempotent). */
  release(): void {
    this.buffer?.destroy();
    this.buffer = undefined;
  }
}
