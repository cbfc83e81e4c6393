// The chart builder's public entry bundles for the browser (the renderer's Vite build): no node: imports, no zod at
// run time, nothing outside charts/, runs/diff and util/errors.
import { build } from 'esbuild';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

describe('charts/index.ts is pure', () => {
  it('bundles for the browser with only charts/, runs/diff.ts and util/errors.ts in it', async () => {
    const r = await build({ entryPoints: [join(repoRoot, 'src-main', 'charts', 'index.ts')], bundle: true, platform: 'browser', format: 'esm', write: false, metafile: true, logLevel: 'silent' });
    const inputs = Object.keys(r.metafile.inputs);
    expect(inputs.filter((p) => !/src-main\/(charts\/|runs\/diff\.ts|util\/errors\.ts)/.test(p))).toEqual([]);
    expect(r.outputFiles[0].text).not.toMatch(/from\s*["']node:/);
  });
});
