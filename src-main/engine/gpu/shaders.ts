// Loads WGSL kernels from kernels/ (one op per file, forward and backward entry points together) and caches
// compute pipelines. Compile-time sizes (head dim, tile sizes) are `const` declarations the host prepends:
// a kernel file lists the ones it expects in a `// defines:` comment on its first lines. `// include: NAME` pulls in
// kernels/include/NAME.wgsl.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { kernelsDir } from '../../util/paths';

/** The kernels/ folder (util/paths.ts resolves it; LMWB_KERNELS_DIR overrides). */
export function findKernelsDir(): string {
  return kernelsDir();
}

const sourceCache = new Map<string, string>();
// Benches that time edited copies of a kernel (src-main/bench/attention-probe.ts) put their text here.
const overrides = new Map<string, string>();
let overrideGeneration = 0;

/** Benches only: use `text` in place of kernels/FILE.wgsl from now on (undefined restores the file). */
export function overrideKernelText(file: string, text: string | undefined): void {
  if (text === undefined) overrides.delete(file);
  else overrides.set(file, text);
  overrideGeneration++;
}

export type Defines = Record<string, number | boolean>;

export function kernelSource(file: string, defines: Defines = {}): string {
  let src = overrides.get(file) ?? sourceCache.get(file);
  if (src === undefined) {
    // `// include: NAME` lines pull in kernels/include/NAME.wgsl (shared helpers; WGSL has no includes of its own).
    src = readFileSync(join(findKernelsDir(), `${file}.wgsl`), 'utf8').replace(/^\/\/ include: ([\w-]+)\s*$/gm, (_m, name: string) =>
      readFileSync(join(findKernelsDir(), 'include', `${name}.wgsl`), 'utf8'));
    sourceCache.set(file, src);
  }
  const declared = /\/\/\s*defines:\s*([^\n]*)/.exec(src)?.[1]?.split(/[\s,]+/).filter(Boolean) ?? [];
  for (const name of declared) {
    if (!(name in defines)) throw new Error(`kernel ${file}.wgsl needs define ${name}`);
  }
  return withDefines(src, defines);
}

/** A kernel's text with its defines as `const` declarations, below its `enable` directives (benches that edit a kernel's text use it too). */
export function withDefines(src: string, defines: Defines): string {
  const head = Object.entries(defines)
    .map(([k, v]) => (typeof v === 'boolean' ? `const ${k}: bool = ${v};` : Number.isInteger(v) ? `const ${k}: u32 = ${v}u;` : `const ${k}: f32 = ${v};`))
    .join('\n');
  // `enable` directives must come first in WGSL: keep them above the injected constants.
  const enables = src.match(/^enable [^\n]*;\s*$/gm) ?? [];
  const body = src.replace(/^enable [^\n]*;\s*$/gm, '');
  return `${enables.join('\n')}\n${head}\n${body}`;
}

const pipelineCache = new WeakMap<GPUDevice, Map<string, GPUComputePipeline>>();

export function pipeline(device: GPUDevice, file: string, entry: string, defines: Defines = {}): GPUComputePipeline {
  let cache = pipelineCache.get(device);
  if (!cache) pipelineCache.set(device, (cache = new Map()));
  const key = `${file}:${entry}:${JSON.stringify(defines)}${overrides.has(file) ? `:override ${overrideGeneration}` : ''}`;
  let p = cache.get(key);
  if (!p) {
    const module = device.createShaderModule({ code: kernelSource(file, defines), label: `${file}.wgsl` });
    p = device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: entry }, label: `${file}:${entry}` });
    cache.set(key, p);
  }
  return p;
}
