// Per-kernel GPU time of a recorded Program with timestamp queries: each dispatch runs in its own compute pass
// with begin/end timestamps (for profiling only; the normal path keeps dispatches in one pass).
import { Program } from './program';
import { readBytes } from './tensor';

export interface KernelTime {
  label: string;
  calls: number;
  ms: number;
}

/** GPU milliseconds per dispatch label, summed over `repeats` runs and divided by them. */
export async function profileProgram(device: GPUDevice, prog: Program, repeats = 3): Promise<{ kernels: KernelTime[]; totalMs: number }> {
  if (!device.features.has('timestamp-query')) throw new Error('this adapter has no timestamp queries');
  const dispatches = prog.steps.filter((s) => s.kind === 'dispatch');
  const count = dispatches.length * 2;
  const querySet = device.createQuerySet({ type: 'timestamp', count });
  const resolve = device.createBuffer({ size: count * 8, usage: 0x0200 /* QUERY_RESOLVE */ | 0x04 /* COPY_SRC */ });
  const totals = new Map<string, KernelTime>();
  for (let r = 0; r < repeats; r++) {
    const enc = device.createCommandEncoder();
    let q = 0;
    for (const s of prog.steps) {
      if (s.kind === 'dispatch') {
        const pass = enc.beginComputePass({ timestampWrites: { querySet, beginningOfPassWriteIndex: q, endOfPassWriteIndex: q + 1 } });
        pass.setPipeline(s.pipeline);
        pass.setBindGroup(0, s.bindGroup);
        pass.dispatchWorkgroups(...s.workgroups);
        pass.end();
        q += 2;
      } else if (s.kind === 'clear') enc.clearBuffer(s.buffer, s.offset, s.size);
      else enc.copyBufferToBuffer(s.src, s.srcOffset, s.dst, s.dstOffset, s.size);
    }
    enc.resolveQuerySet(querySet, 0, count, resolve, 0);
    device.queue.submit([enc.finish()]);
    const ts = new BigUint64Array(await readBytes(device, resolve, 0, count * 8));
    dispatches.forEach((s, i) => {
      const ms = Number(ts[2 * i + 1] - ts[2 * i]) / 1e6;
      const key = s.label.replace(/layers\.\d+\./, '');
      const k = totals.get(key) ?? { label: key, calls: 0, ms: 0 };
      k.calls += 1 / repeats;
      k.ms += ms / repeats;
      totals.set(key, k);
    });
  }
  querySet.destroy();
  resolve.destroy();
  const kernels = [...totals.values()].sort((a, b) => b.ms - a.ms);
  return { kernels, totalMs: kernels.reduce((s, k) => s + k.ms, 0) };
}
