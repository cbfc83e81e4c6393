// The GPU buffer registry (gpu/device.ts trackBuffers → util/live-resources): every buffer made on a device counts
// as live until destroyed, and destroying the device releases them all.
import { describe, expect, it } from 'vitest';
import { openGpu } from '../../src-main/engine/gpu/device';
import { liveCount } from '../../src-main/util/live-resources';

describe('live GPU buffer tracking', () => {
  it('counts buffers until they are destroyed, and the device releases the rest', async () => {
    const before = liveCount('gpu-buffer');
    const gpu = await openGpu();
    const a = gpu.device.createBuffer({ size: 256, usage: GPUBufferUsage.STORAGE });
    gpu.device.createBuffer({ size: 256, usage: GPUBufferUsage.STORAGE });
    expect(liveCount('gpu-buffer')).toBe(before + 2);
    a.destroy();
    expect(liveCount('gpu-buffer')).toBe(before + 1);
    gpu.destroy();
    expect(liveCount('gpu-buffer')).toBe(before);
  });
});
