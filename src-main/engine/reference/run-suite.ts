// `npm run test:reference -- [DIR]`: checks every *.safetensors case in DIR (default ../shared/reference) by its
// kind and prints one line per case and `N passed, M failed`.
import { readdirSync, existsSync, statSync } from 'node:fs';
import { join, resolve, basename } from 'node:path';
import { openGpu } from '../gpu/device';
import { checkCase } from './cases';
import { UserError } from '../../util/errors';

export function defaultReferenceDir(): string {
  return resolve(process.cwd(), '..', 'shared', 'reference');
}

export function listCases(dir: string): string[] {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new UserError(`no such directory of reference cases: ${dir}`);
  const files = readdirSync(dir).filter((f) => f.endsWith('.safetensors')).sort().map((f) => join(dir, f));
  if (files.length === 0) throw new UserError(`${dir} holds no *.safetensors cases`);
  return files;
}

async function main(): Promise<void> {
  const dir = resolve(process.argv[2] ?? defaultReferenceDir());
  const files = listCases(dir);
  const gpu = await openGpu();
  process.stdout.write(`reference cases in ${dir} on ${gpu.info.description}\n`);
  let passed = 0;
  let failed = 0;
  for (const f of files) {
    const r = await checkCase(gpu, f);
    if (r.ok) passed++;
    else failed++;
    process.stdout.write(`${r.ok ? 'PASS' : 'FAIL'} ${basename(f)} (${r.kind}, ${r.seconds.toFixed(1)} s)${r.error ? `: ${r.error}` : ''}\n`);
    for (const c of r.checks) if (!c.ok || process.env.VERBOSE) process.stdout.write(`    ${c.ok ? 'ok  ' : 'FAIL'} ${c.name}: ${c.detail}\n`);
  }
  process.stdout.write(`${passed} passed, ${failed} failed\n`);
  gpu.destroy();
  process.exit(failed > 0 ? 1 : 0);
}

main().catch((e: unknown) => {
  if (e instanceof UserError) {
    process.stderr.write(`test:reference: ${e.message}\n`);
    process.exit(e.exitCode);
  }
  throw e;
});
