// Every PyTorch reference case in ../shared/reference, checked by its kind on the local WebGPU adapter
// (llvmpipe in CI): ops, every LM variant's logits/loss/gradients, AdamW, schedule, clipping, train_run.
import { describe, it, expect } from 'vitest';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { needShared, sharedDir, testGpu } from '../helpers';
import { checkCase } from '../../src-main/engine/reference/cases';

const hasShared = needShared('reference parity suite', ['reference/README.md']);
const dir = join(sharedDir, 'reference');
const files = hasShared ? readdirSync(dir).filter((f) => f.endsWith('.safetensors')).sort() : [];

describe.skipIf(!hasShared)('reference parity (shared/reference)', () => {
  it('has cases', () => {
    expect(files.length).toBeGreaterThanOrEqual(17);
  });
  for (const f of files) {
    it(f, async () => {
      const r = await checkCase(await testGpu(), join(dir, f));
      const failures = r.checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail}`);
      expect(r.error, r.error).toBeUndefined();
      expect(failures, failures.join('\n')).toEqual([]);
      expect(r.checks.length).toBeGreaterThan(0);
    });
  }
});
