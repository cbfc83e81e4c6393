// One trainer per GPU: `lmwb queue work --gpus all` gives the worker one slot per GPU, each trainer started with
// LMWB_GPU=<index> so openGpu pins it to its own adapter (gpu/select.ts), and status.json records where it ran.
// FAKED AT THE ADAPTER LEVEL: this machine has one adapter (llvmpipe), so LMWB_FAKE_GPUS=2 makes two GPUs that
// both open llvmpipe; the slots, the LMWB_GPU plumbing, the concurrent trainers and the recorded GPU are real,
// the physical device choice (DRI_PRIME + the Mesa device-select layer) is exercised on a several-GPU machine in
// issue 15. The PCI-address form of the selection is checked against this machine's real /sys listing.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { repoRoot, tempDir } from '../helpers';
import { readMetrics, readStatus } from '../../src-main/runs/read';
import { applyGpuSelection, driPrime, listGpus, parseGpuList } from '../../src-main/engine/gpu/select';
import { gpuEnv, lmwb, tinyConfig, tinyTokens, writeJson } from '../runs/helpers';

const tmp = tempDir('lmwb-gpus-');
afterAll(() => tmp.cleanup());
const CLI = join(repoRoot, 'bin', 'lmwb.mjs');

describe('one trainer per GPU (the selection faked at the adapter level: one llvmpipe here)', () => {
  it('parses GPU lists and sets the Vulkan device selection for an index', () => {
    const fake = { LMWB_FAKE_GPUS: '3' };
    expect(parseGpuList('all', fake)).toEqual([0, 1, 2]);
    expect(parseGpuList('0,2', fake)).toEqual([0, 2]);
    expect(() => parseGpuList('3', fake)).toThrow(/GPU 3 does not exist: this machine has 3 GPUs/);
    expect(() => parseGpuList('0,0', fake)).toThrow(/twice/);
    expect(() => parseGpuList('x', fake)).toThrow(/"all" or indices/);
    expect(driPrime('0000:41:00.0')).toBe('pci-0000_41_00_0');
    const env: NodeJS.ProcessEnv = { LMWB_FAKE_GPUS: '2', LMWB_GPU: '1' };
    expect(applyGpuSelection(env)).toMatch(/^gpu 1 of 2 \(fake/);
    expect(() => applyGpuSelection({ LMWB_FAKE_GPUS: '2', LMWB_GPU: '2' })).toThrow(/this machine has 2 GPUs/);
    expect(applyGpuSelection({})).toBeUndefined();
    // The real listing of this machine: every display controller, in PCI order, gets DRI_PRIME for its address.
    const real = listGpus({});
    if (real.length) {
      const e: NodeJS.ProcessEnv = { LMWB_GPU: String(real.length - 1) };
      expect(applyGpuSelection(e)).toContain(real[real.length - 1].pci!);
      expect(e.DRI_PRIME).toBe(driPrime(real[real.length - 1].pci!));
      expect(e.MESA_VK_DEVICE_SELECT_FORCE_DEFAULT_DEVICE).toBe('1');
    }
  });

  it('trains two runs at once, one per GPU slot, each recording its GPU', () => {
    const ws = tmp.path;
    const tokens = tinyTokens(ws);
    const ids = ['a', 'b'].map((name) => {
      const r = lmwb(['queue', 'add', '--config', writeJson(join(ws, `${name}.json`), tinyConfig(tokens, { steps: 120, name }))], ws);
      expect(r.code, r.err).toBe(0);
      return r.out.trim();
    });
    const w = spawnSync(process.execPath, [CLI, 'queue', 'work', '--until-empty', '--gpus', 'all'], {
      cwd: ws, encoding: 'utf8', env: { ...gpuEnv(), LMWB_FAKE_GPUS: '2' }, timeout: 240_000,
    });
    expect(w.status, w.stderr + w.stdout).toBe(0);
    const st = ids.map((id) => readStatus(join(ws, 'runs', id))!);
    for (const s of st) expect(s.state).toBe('done');
    expect(st.map((s) => s.backend).sort()).toEqual(['local:gpu0', 'local:gpu1']);
    for (const s of st) expect(s.gpu).toMatch(new RegExp(`\\(gpu ${s.backend!.slice(-1)} of 2 \\(fake`));
    // Both trained at the same time: each started before the other ended.
    const [a, b] = st;
    expect(Date.parse(a.started!)).toBeLessThan(Date.parse(b.ended!));
    expect(Date.parse(b.started!)).toBeLessThan(Date.parse(a.ended!));
    for (const id of ids) expect(readMetrics(join(ws, 'runs', id)).records.filter((r) => r.kind === 'train').length).toBeGreaterThan(0);
    // An index this machine does not have is a clear error.
    const bad = lmwb(['queue', 'work', '--until-empty', '--gpus', '0,5'], ws);
    expect(bad.code).not.toBe(0);
    expect(bad.err).toMatch(/GPU (0, )?5 does not exist/);
  }, 300_000);
});
