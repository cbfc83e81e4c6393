// `npm run check`: every static check in one command — types, lint, generated kernels, dead code — each run
// even when an earlier one fails, then one line per check with its time; exits 1 when any failed.
// Each part is also an npm script of its own (typecheck, typecheck:renderer, lint, check:generated, knip).
import { spawnSync } from 'node:child_process';

const PARTS = ['typecheck', 'typecheck:renderer', 'lint', 'check:generated', 'knip'] as const;

const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const results: { part: string; ok: boolean; seconds: number }[] = [];
for (const part of PARTS) {
  console.log(`\n== npm run ${part}`);
  const t0 = performance.now();
  const r = spawnSync(npm, ['run', '--silent', part], { stdio: 'inherit' });
  const ok = r.status === 0 && !r.error;
  if (r.error) console.error(`could not run npm run ${part}: ${r.error.message}`);
  results.push({ part, ok, seconds: (performance.now() - t0) / 1000 });
}
console.log('\n== check summary');
for (const r of results) console.log(`${r.ok ? 'ok  ' : 'FAIL'}  ${r.part.padEnd(16)} ${r.seconds.toFixed(1)} s`);
const failed = results.filter((r) => !r.ok).map((r) => r.part);
if (failed.length > 0) console.error(`check failed: ${failed.join(', ')} (run each with npm run <name>)`);
process.exitCode = failed.length > 0 ? 1 : 0;
