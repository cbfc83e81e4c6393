/**
 * Which physical GPU a trainer process opens, for one trainer per GPU on a several-GPU machine.
 *
 * How Dawn picks a device: dawn.node's `create()` makes one Vulkan instance and `requestAdapter()` returns the
 * first adapter that suits (its `adapter=NAME` flag only filters by a substring of the product name, which cannot
 * tell two identical GPUs apart, and WebGPU has no adapter index). So the choice is made one level down, in the
 * Vulkan loader, before Dawn creates its instance: Mesa's device-select layer (VK_LAYER_MESA_device_select, an
 * implicit layer installed with mesa-vulkan-drivers, active for every driver, NVIDIA's included) puts the device
 * at `DRI_PRIME=pci-DDDD_BB_DD_F` first, and with `MESA_VK_DEVICE_SELECT_FORCE_DEFAULT_DEVICE=1` hides the others.
 * (`MESA_VK_DEVICE_SELECT=vid:did` selects by vendor/device id, which identical GPUs share; newer Vulkan loaders'
 * `VK_LOADER_DEVICE_ID_FILTER` likewise.) `LMWB_GPU=<index>` names the GPU by its place among this machine's
 * display controllers in PCI order (/sys/bus/pci/devices, class 0x03xxxx), which is also nvidia-smi's default
 * order; the chosen PCI address is set as above. Under Slurm with `ConstrainDevices=yes` a job sees only its own
 * GPU and needs none of this.
 *
 * `LMWB_FAKE_GPUS=N` (tests on a machine with one adapter) pretends there are N GPUs: every index opens the one
 * adapter there is, and the selection is recorded as fake.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../../util/errors';

export interface GpuDevice {
  index: number;
  /** PCI address "0000:41:00.0" (absent for fake GPUs). */
  pci?: string;
  /** PCI vendor id "0x10de". */
  vendor?: string;
  fake?: boolean;
}

const PCI_ROOT = '/sys/bus/pci/devices';

/** This machine's GPUs in PCI order (display controllers), or LMWB_FAKE_GPUS fake ones. */
export function listGpus(env: NodeJS.ProcessEnv = process.env): GpuDevice[] {
  const fake = Number(env.LMWB_FAKE_GPUS ?? '');
  if (Number.isInteger(fake) && fake > 0) return Array.from({ length: fake }, (_, index) => ({ index, fake: true }));
  if (!existsSync(PCI_ROOT)) return [];
  const out: GpuDevice[] = [];
  for (const addr of readdirSync(PCI_ROOT).sort()) {
    const read = (f: string) => {
      try {
        return readFileSync(join(PCI_ROOT, addr, f), 'utf8').trim();
      } catch {
        return '';
      }
    };
    // 0x0300 VGA, 0x0302 3D controller (data-centre GPUs), 0x0380 other display.
    if (!/^0x03/.test(read('class'))) continue;
    out.push({ index: out.length, pci: addr, vendor: read('vendor') });
  }
  return out;
}

/** DRI_PRIME's form of a PCI address: "0000:41:00.0" → "pci-0000_41_00_0". */
export function driPrime(pci: string): string {
  return `pci-${pci.replace(/[:.]/g, '_')}`;
}

/**
 * Applies LMWB_GPU to this process's environment before Dawn starts Vulkan; returns a description of the choice
 * for status.json ("gpu 1 of 2, pci 0000:41:00.0"), or undefined when no GPU was chosen.
 */
export function applyGpuSelection(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const want = env.LMWB_GPU;
  if (want === undefined || want === '') return undefined;
  const index = Number(want);
  const gpus = listGpus(env);
  if (!Number.isInteger(index) || index < 0) throw new UserError(`LMWB_GPU must be a GPU index (0, 1, …), got "${want}"`, { code: 'INVALID_ARGUMENT' });
  if (index >= gpus.length) {
    throw new UserError(`LMWB_GPU=${index}, but this machine has ${gpus.length} GPU${gpus.length === 1 ? '' : 's'} (indices 0–${gpus.length - 1})`, { code: 'INVALID_ARGUMENT', data: { index, gpus: gpus.length } });
  }
  const g = gpus[index];
  if (g.fake) return `gpu ${index} of ${gpus.length} (fake: LMWB_FAKE_GPUS, every index opens the same adapter)`;
  if (g.pci) {
    env.DRI_PRIME = driPrime(g.pci);
    env.MESA_VK_DEVICE_SELECT_FORCE_DEFAULT_DEVICE = '1';
  }
  return `gpu ${index} of ${gpus.length}, pci ${g.pci}`;
}

/** Parses `--gpus all|0,1`: the GPU indices a worker gets one slot each for. */
export function parseGpuList(spec: string, env: NodeJS.ProcessEnv = process.env): number[] {
  const gpus = listGpus(env);
  if (spec === 'all') {
    if (!gpus.length) throw new UserError('no GPUs found on this machine (no display controller in /sys/bus/pci/devices)', { code: 'NO_GPU_DRIVER' });
    return gpus.map((g) => g.index);
  }
  const list = spec.split(',').map((s) => s.trim()).filter(Boolean).map(Number);
  if (!list.length || list.some((i) => !Number.isInteger(i) || i < 0)) throw new UserError(`GPU list must be "all" or indices like 0,1, got "${spec}"`, { code: 'INVALID_ARGUMENT' });
  const bad = list.filter((i) => i >= gpus.length);
  if (bad.length) throw new UserError(`GPU ${bad.join(', ')} does not exist: this machine has ${gpus.length} GPU${gpus.length === 1 ? '' : 's'}`, { code: 'INVALID_ARGUMENT' });
  if (new Set(list).size !== list.length) throw new UserError(`GPU list "${spec}" names a GPU twice`, { code: 'INVALID_ARGUMENT' });
  return list;
}
