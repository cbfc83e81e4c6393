// Bundles the headless CLI (and the benchmarks) into single files under dist/ with their pure-JS dependencies,
// for machines without npm (the GPU server): `node dist/lmwb.mjs …`. webgpu (Dawn's native addon) stays external;
// the WGSL kernels are read from kernels/ beside dist/ at run time. The worker threads (util/workers.ts) are
// their own entries, always built: dist/<name>.worker.mjs beside the bundles that start them.
import { build } from 'esbuild';
import { builtWorkerFile, WORKER_SOURCES, type WorkerName } from '../src-main/util/workers';

const entries: Record<string, string> = {
  lmwb: 'src-main/cli/main.ts',
  'train-bench': 'src-main/bench/train-bench.ts',
  'test-reference': 'src-main/engine/reference/run-suite.ts',
  'attention-bench': 'src-main/bench/attention-bench.ts',
  'matmul-bench': 'src-main/bench/matmul-bench.ts',
  'generate-bench': 'src-main/bench/generate-bench.ts',
  'gemm-probe': 'src-main/bench/gemm-probe.ts',
  'attention-probe': 'src-main/bench/attention-probe.ts',
  'train-events': 'src-main/bench/train-events.ts',
};
const args = process.argv.slice(2);
const outIdx = args.indexOf('--outdir');
const outdir = outIdx >= 0 ? args.splice(outIdx, 2)[1] : 'dist';
const only = args;
const jobs: Array<[string, string]> = Object.entries(entries).filter(([name]) => only.length === 0 || only.includes(name)).map(([name, entry]) => [`${name}.mjs`, entry]);
for (const [name, source] of Object.entries(WORKER_SOURCES) as Array<[WorkerName, string]>) jobs.push([builtWorkerFile(name), source]);
for (const [file, entry] of jobs) {
  await build({
    entryPoints: [entry],
    outfile: `${outdir}/${file}`,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    external: ['webgpu', '@resvg/resvg-js'],
    banner: { js: "import { createRequire as __lmwbCreateRequire } from 'node:module'; const require = __lmwbCreateRequire(import.meta.url);" },
    logLevel: 'warning',
  });
  process.stdout.write(`${outdir}/${file}\n`);
}
