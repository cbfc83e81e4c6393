// `lmwb device`: the GPU adapter this machine trains on and the limits the memory plan checks (binding size,
// buffer size, f16 tensor cores). Nothing is allocated. `--json` for supervisors (the workbench backend reads it
// to check a batch against the device without opening the GPU itself).
import type { Command } from 'commander';
import { freemem } from 'node:os';
import type { DeviceProbe } from '../../runs/validate';

export function registerDevice(program: Command): void {
  program
    .command('device')
    .description('show the GPU adapter and the limits the memory plan checks (nothing is allocated)')
    .option('--json', 'one JSON object')
    .action(async (o: { json?: boolean }) => {
      const { openGpu } = await import('../../engine/gpu/device');
      const gpu = await openGpu();
      const i = gpu.info;
      const probe: DeviceProbe = {
        name: i.name, driver: i.driver, isSoftware: i.isSoftware, maxStorageBufferBindingSize: i.maxStorageBufferBindingSize,
        maxBufferSize: i.maxBufferSize, subgroupMatrix: i.subgroupMatrix,
      };
      gpu.destroy();
      const mib = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`;
      process.stdout.write(o.json ? `${JSON.stringify(probe)}\n` : [
        `adapter: ${probe.name}${probe.isSoftware ? ' (a CPU implementation: allocations come from system memory)' : ''}`,
        `driver: ${probe.driver}`,
        `largest storage binding: ${mib(probe.maxStorageBufferBindingSize)}; largest buffer: ${mib(probe.maxBufferSize)}`,
        `f16 tensor cores (subgroup matrices): ${probe.subgroupMatrix ? 'yes (precision auto → mixed)' : 'no (precision auto → f32)'}`,
        ...(probe.isSoftware ? [`free system memory: ${mib(freemem())}`] : []),
      ].join('\n') + '\n');
    });
}
