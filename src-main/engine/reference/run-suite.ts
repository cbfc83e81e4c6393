// `npm run test:reference -- [DIR]`: checks every *.safetensors case in DIR (default ../shared/reference) by its
// kind and prints one line per case and `N passed, M failed`.
import { readdirSync, existsSync, statSync } from 'node:fs';
import { join, resolve, basename } from 'node:path';
import { describeGpu, openGpu } from '../gpu/device';
import { parseArgs } from 'node:util';
import { checkCase, setSuitePrecision } from './cases';
import { UserError } from '../../util/errors';
import { exitCodeFor } from '../../cli/exit-codes';

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
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { precision: { type: 'string', default: 'f32' } } });
  if (values.precision !== 'f32' && values.precision !== 'mixed') throw new UserError(`--precision must be f32 or mixed, not ${values.precision}`);
  setSuitePrecision(values.precision);
  const dir = resolve(positionals[0] ?? defaultReferenceDir());
  const files = listCases(dir);
  const gpu = await openGpu();
  process.stdout.write(`reference cases in ${dir} on ${describeGpu(gpu.info)}, precision ${values.precision}\n`);
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  for (const f of files) {
    const r = await checkCase(gpu, f);
    if (r.skipped) {
      skipped++;
      process.stdout.write(`SKIP ${basename(f)} (${r.kind}): ${r.skipped}\n`);
      continue;
    }
    if (r.ok) passed++;
    else failed++;
    process.stdout.write(`${r.ok ? 'PASS' : 'FAIL'} ${basename(f)} (${r.kind}, ${r.seconds.toFixed(1)} s)${r.error ? `: ${r.error}` : ''}\n`);
    for (const c of r.checks) if (!c.ok || process.env.VERBOSE) process.stdout.write(`    ${c.ok ? 'ok  ' : 'FAIL'} ${c.name}: ${c.detail}\n`);
  }
  process.stdout.write(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}\n`);
  gpu.destroy();
  process.exit(failed > 0 ? 1 : 0);
}

main().catch((e: unknown) => {
  if (e instanceof UserError) {
    process.stderr.write(`test:reference: ${e.message}\n`);
    process.exit(exitCodeFor(e.code));
  }
  throw e;
});
