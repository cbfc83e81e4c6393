// Writes the generated kernels (`npm run gen:kernels`) or, with --check, fails when a committed kernel differs
// from what its generator gives now (`npm run check:generated`), printing the first lines of the difference.
// Each generated file's header says so and names its generator; edit the generator, then regenerate.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ATTENTION_F16_DEFAULTS, generateAttentionF16 } from './attention_f16';
import { generateLinearF16, LINEAR_F16_DEFAULTS } from './linear_f16';
import { generateLinearF16Direct, LINEAR_F16_DIRECT_DEFAULTS } from './linear_f16_direct';

const kernelsDir = dirname(dirname(fileURLToPath(import.meta.url)));

/** Every generated kernel: its file under kernels/ and the function that gives its text. */
const GENERATED: { file: string; generate: () => string }[] = [
  { file: 'linear_f16.wgsl', generate: () => generateLinearF16(LINEAR_F16_DEFAULTS) },
  { file: 'linear_f16_direct.wgsl', generate: () => generateLinearF16Direct(LINEAR_F16_DIRECT_DEFAULTS) },
  { file: 'attention_f16.wgsl', generate: () => generateAttentionF16(ATTENTION_F16_DEFAULTS) },
];

const DIFF_LINES = 40;

/** The first lines of `diff -u committed generated` (diffutils is on every Debian; a plain first-difference otherwise). */
function firstDiffLines(path: string, shown: string, committed: string, generated: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'lmwb-gen-'));
  try {
    const genPath = join(dir, `generated-${path.split('/').pop() ?? 'kernel'}`);
    writeFileSync(genPath, generated);
    const r = spawnSync('diff', ['-u', '--label', `${shown} (committed)`, '--label', `${shown} (generated)`, path, genPath], { encoding: 'utf8' });
    if (r.status === 1 && r.stdout) {
      const lines = r.stdout.split('\n');
      return lines.slice(0, DIFF_LINES).join('\n') + (lines.length > DIFF_LINES ? `\n... (${lines.length - DIFF_LINES} more diff lines)` : '');
    }
    const a = committed.split('\n');
    const b = generated.split('\n');
    let i = 0;
    while (i < a.length && i < b.length && a[i] === b[i]) i++;
    return `first difference at line ${i + 1}:\n- ${a[i] ?? '(end of file)'}\n+ ${b[i] ?? '(end of file)'}`;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function main(): number {
  const check = process.argv.includes('--check');
  let stale = 0;
  for (const { file, generate } of GENERATED) {
    const path = join(kernelsDir, file);
    const shown = relative(process.cwd(), path);
    const text = generate();
    let committed: string | undefined;
    try {
      committed = readFileSync(path, 'utf8');
    } catch {
      committed = undefined;
    }
    if (committed === text) {
      console.log(`${shown}: up to date`);
      continue;
    }
    if (!check) {
      writeFileSync(path, text);
      console.log(`${shown}: written`);
      continue;
    }
    stale++;
    console.error(committed === undefined ? `${shown}: missing` : `${shown}: differs from its generator\n${firstDiffLines(path, shown, committed, text)}`);
  }
  if (stale > 0) {
    console.error(`${stale} generated kernel file(s) out of date: edit the generator under kernels/gen/, then run \`npm run gen:kernels\` and commit both`);
    return 1;
  }
  return 0;
}

process.exitCode = main();
