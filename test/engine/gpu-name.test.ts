// The GPU's product name in start-up lines and run metadata: Dawn reports NVIDIA's H200 by an id from its GPU tables
// ("nvidia-h200", seen on the GPU machine) and llvmpipe by its full name; the description is the fallback.
import { describe, expect, it } from 'vitest';
import { gpuName } from '../../src-main/engine/gpu/device';

describe('gpuName', () => {
  it('spells out Dawn device ids and keeps full names as they are', () => {
    expect(gpuName({ vendor: 'nvidia', device: 'nvidia-h200', description: 'NVIDIA: 580.159.04 580.159.4.0' })).toBe('NVIDIA H200');
    expect(gpuName({ vendor: 'nvidia', device: 'nvidia-geforce-rtx-4090', description: '' })).toBe('NVIDIA GeForce RTX 4090');
    expect(gpuName({ vendor: 'mesa', device: 'llvmpipe (LLVM 15.0.6, 256 bits)', description: 'Mesa 25' })).toBe('llvmpipe (LLVM 15.0.6, 256 bits)');
    expect(gpuName({ vendor: 'nvidia', device: '', description: 'NVIDIA: 580.159.04' })).toBe('NVIDIA: 580.159.04');
  });
});
