// The single-file CLI bundle (`npm run bundle`) runs the tokenizer in worker threads: the worker modules are emitted
// as their own entries beside lmwb.mjs (dist/tokenizer.worker.mjs) and `lmwb tokenizer train` / `lmwb tokenize`
// from the bundle use 2 threads and give the same tokenizer and token file as the library in this process.
import { describe, expect, it, afterAll } from 'vitest';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { trainFromFile } from '../../src-main/tokenizer/train';
import { loadTokenizer } from '../../src-main/tokenizer/files';
import { readTokenFile } from '../../src-main/tokenizer/token-file';
import { builtWorkerFile, resolveWorker, setWorkersDir } from '../../src-main/util/workers';
import { cs336, needCs336, repoRoot, scratch } from './helpers';

const tmp = scratch('bundle');
// Inside the repository (dist/ is ignored) so that the bundle finds node_modules/webgpu and kernels/ as dist/ does.
const outdir = join(repoRoot, 'dist', `test-bundle-${process.pid}`);
afterAll(() => { tmp.cleanup(); rmSync(outdir, { recursive: true, force: true }); });

const haveCs336 = needCs336('bundled tokenizer with workers');
describe.skipIf(!haveCs336)('the bundled CLI', () => {
  it('trains and encodes with worker threads, identically to the library', async () => {
    const b = spawnSync(process.execPath, [join(repoRoot, 'node_modules', 'tsx', 'dist', 'cli.mjs'), join(repoRoot, 'scripts', 'bundle.ts'), '--outdir', outdir, 'lmwb'], { cwd: repoRoot, encoding: 'utf8' });
    expect(b.status, b.stderr).toBe(0);
    for (const f of ['lmwb.mjs', builtWorkerFile('tokenizer'), builtWorkerFile('batch-loader')]) expect(existsSync(join(outdir, f)), f).toBe(true);

    const input = join(tmp.dir, 'corpus.txt');
    writeFileSync(input, readFileSync(join(cs336, 'corpus.en'), 'utf8').repeat(70)); // ~9 MB: 3 chunks of 4 MB
    const tokDir = join(tmp.dir, 'tok');
    const t = spawnSync(process.execPath, [join(outdir, 'lmwb.mjs'), 'tokenizer', 'train', '--input', input, '--vocab-size', '300', '--no-special-tokens', '--workers', '2', '--out', tokDir], { encoding: 'utf8' });
    expect(t.status, t.stderr).toBe(0);
    expect(t.stderr).toMatch(/with 2 thread\(s\)/);
    console.log(`bundle: ${t.stderr.trim().split('\n').pop()}`);
    const { tokenizer } = await trainFromFile(input, { vocabSize: 300, workers: 0 });
    expect(loadTokenizer(tokDir).hash()).toBe(tokenizer.hash());

    const out = join(tmp.dir, 'corpus.bin');
    const e = spawnSync(process.execPath, [join(outdir, 'lmwb.mjs'), 'tokenize', '--tokenizer', tokDir, '--input', input, '--out', out, '--workers', '2'], { encoding: 'utf8' });
    expect(e.status, e.stderr).toBe(0);
    expect(e.stderr).toMatch(/with 2 thread\(s\)/);
    console.log(`bundle: ${e.stderr.trim().split('\n').pop()}`);
    expect(Array.from(readTokenFile(out).subarray(0, 50_000))).toEqual(Array.from(tokenizer.encode(readFileSync(input, 'utf8').slice(0, 200_000)).subarray(0, 50_000)));
    expect(readTokenFile(out).length).toBe(tokenizer.encode(readFileSync(input, 'utf8')).length);

    // A host with its own build output (the Electron app) points the resolver at it: the built worker then runs
    // in this process too, with the same result.
    setWorkersDir(outdir);
    try {
      expect(resolveWorker('tokenizer')).toEqual({ kind: 'built', url: expect.objectContaining({ href: expect.stringContaining(`${outdir}/tokenizer.worker.mjs`) }) });
      const r = await trainFromFile(input, { vocabSize: 300, workers: 2 });
      expect(r.stats.workers).toBe(2);
      expect(r.tokenizer.hash()).toBe(tokenizer.hash());
    } finally {
      setWorkersDir(undefined);
    }
    expect(resolveWorker('tokenizer')?.kind).toBe('source');
  });
});
