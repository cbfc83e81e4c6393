// The New run form and the Sweeps view end to end, against the real backend (`lmwb serve` over a fresh
// workspace), the real trainer on llvmpipe and Debian's Chromium: a run queued from the form goes queued → running
// → done in the Run detail view with its curve growing; a bad field shows its message beside the field and nothing
// is queued (the backend refuses it too); a dataset prepared with the real CLI is picked through
// `#/new?dataset=NAME` and trains; a sweep of two points is queued as one group. Screenshots: e2e/artifacts/.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { apiCall, ARTIFACTS, browserMissing, gpuEnv, launchBrowser, ROOT, startServe, until, type Serve } from './lib';
import type { RunSummary } from '../src-main/api/contract';

const missing = browserMissing();
if (missing) console.warn(`skipping the New run e2e tests: ${missing}`);
const run = promisify(execFile);

/** Every run folder of the workspace. */
const runFolders = (s: Serve): string[] => {
  try {
    return readdirSync(join(s.workspace, 'runs')).filter((d) => !d.startsWith('.'));
  } catch {
    return [];
  }
};
const configOf = (s: Serve, id: string) => JSON.parse(readFileSync(join(s.workspace, 'runs', id, 'config.json'), 'utf8')) as {
  model: { vocab_size: number; num_heads: number }; data: { train: string }; training: { max_steps: number };
};
async function stateOf(s: Serve, id: string): Promise<string | null | undefined> {
  return (await apiCall<RunSummary[]>(s, 'runs.list')).find((r) => r.id === id)?.state;
}

/** A small text for a dataset: simple sentences from a few words, deterministic. */
function storyText(lines: number, seed: number): string {
  const who = ['Tom', 'Lily', 'the cat', 'a small dog', 'Mia', 'the bird'];
  const did = ['found', 'liked', 'saw', 'wanted', 'made', 'lost'];
  const what = ['a red ball', 'a big tree', 'some cake', 'a shiny stone', 'a new friend', 'the old boat'];
  let x = seed;
  const pick = <T,>(a: T[]) => a[(x = (x * 1103515245 + 12345) % 2 ** 31) % a.length];
  return Array.from({ length: lines }, () => `${pick(who)} ${pick(did)} ${pick(what)}. It was a happy day.<|endoftext|>`).join('\n');
}

describe.skipIf(!!missing)('New run form and Sweeps over lmwb serve (real backend, real browser)', () => {
  let serve: Serve;
  let browser: Browser;
  let page: Page;
  // The views scroll inside <main>: back to the top for each screenshot.
  const shot = async (name: string) => {
    await page.evaluate(() => document.querySelector('main')?.scrollTo(0, 0));
    await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
  };
  const field = (key: string) => page.getByTestId(`field-${key}`);

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    // A pause after each training step (no effect on the numbers), so a tiny run is still running while we watch it.
    process.env.LMWB_STEP_DELAY_MS = '60';
    serve = await startServe();
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1440, height: 1000 } });
    page.on('pageerror', (e) => console.error('page error:', e.message));
    await page.goto(serve.loginUrl);
  });
  afterAll(async () => {
    delete process.env.LMWB_STEP_DELAY_MS;
    await browser?.close();
    await serve?.stop();
  });

  it('shows a bad field\'s message beside it and queues nothing', async () => {
    await page.goto(`${serve.url}#/new?preset=smoke`);
    await field('model.num_heads').waitFor();
    expect(await page.getByTestId('newrun-preset').inputValue()).toBe('smoke');
    await expect.poll(() => field('training.batch_size').inputValue()).toBe('8');
    await expect.poll(() => page.getByTestId('newrun-status').textContent(), { timeout: 60_000 }).toContain('ready');
    await field('model.num_heads').fill('3');
    const msg = page.getByTestId('error-model.d_model');
    await msg.waitFor({ timeout: 30_000 });
    expect(await msg.textContent()).toMatch(/must be divisible by model\.num_heads \(3\)/);
    expect(await page.getByTestId('error-model.num_heads').textContent()).toBe(await msg.textContent()); // and beside the field changed
    expect(await page.getByTestId('newrun-status').textContent()).toContain('1 problem to fix');
    expect(await page.getByTestId('newrun-queue').isDisabled()).toBe(true);
    // The field is marked changed against the preset.
    expect(await page.locator('[data-key="model.num_heads"]').getAttribute('class')).toContain('changed');
    await shot('new-run-02-bad-field');
    // The backend re-checks on queue: the same request sent directly is refused, and the workspace has no run.
    await expect(apiCall(serve, 'newrun.queue', { preset: 'smoke', set: ['model.num_heads=3'] })).rejects.toThrow(/not queued: .*divisible/);
    expect(runFolders(serve)).toEqual([]);
    await page.getByTestId('reset-model.num_heads').click();
    await expect.poll(() => field('model.num_heads').inputValue()).toBe('4');
    await expect.poll(() => page.getByTestId('error-model.d_model').count()).toBe(0);
  });

  it('queues a run from the form and shows it go queued → running → done with its curve growing', async () => {
    await field('training.max_steps').fill('40');
    await field('log.interval').fill('2');
    await field('eval.interval').fill('20');
    await field('checkpoint.interval').fill('0');
    await field('name').fill('from-form');
    await expect.poll(() => page.getByTestId('est-steps').textContent(), { timeout: 30_000 }).toBe('40');
    expect(await page.getByTestId('est-tokens').textContent()).toContain('20,480'); // 8 × 64 × 40
    await expect.poll(() => page.getByTestId('est-device').textContent(), { timeout: 90_000 }).toContain('device: ');
    expect(await page.getByTestId('est-time').textContent()).toContain('no measurement yet');
    expect(await page.getByTestId('newrun-cli').textContent()).toBe(
      'lmwb queue add --preset smoke --set name=from-form --set training.max_steps=40 --set eval.interval=20 --set checkpoint.interval=0 --set log.interval=2');
    await shot('new-run-01-form');
    await page.getByTestId('newrun-queue').click();
    await page.getByTestId('run-detail').waitFor();
    const id = decodeURIComponent(new URL(page.url()).hash.replace(/^#\/run\//, ''));
    expect(runFolders(serve)).toEqual([id]);
    expect(configOf(serve, id).training.max_steps).toBe(40);
    // Every state the badge shows, in order (a MutationObserver in the page records each change).
    await page.evaluate(() => {
      const seen: string[] = [];
      (window as unknown as { seenStates: string[] }).seenStates = seen;
      const note = () => {
        const s = document.querySelector('[data-test="run-detail"] .badge')?.getAttribute('data-state');
        if (s && s !== 'unknown' && seen[seen.length - 1] !== s) seen.push(s);
      };
      note();
      new MutationObserver(note).observe(document.body, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-state'] });
    });
    const chart = page.getByTestId('chart').first();
    const first = await until('the first points of the run', async () => Number(await chart.getAttribute('data-points').catch(() => '0')) || undefined, 180_000);
    const later = await until('the curve to grow', async () => {
      const n = Number(await chart.getAttribute('data-points'));
      return n > first ? n : undefined;
    }, 120_000);
    expect(later).toBeGreaterThan(first);
    await shot('new-run-04-run-detail-live');
    await until('the run to finish', async () => (await stateOf(serve, id)) === 'done', 180_000);
    await until('the badge to say done', async () => (await page.evaluate(() => (window as unknown as { seenStates: string[] }).seenStates)).includes('done'), 30_000);
    const seen = await page.evaluate(() => (window as unknown as { seenStates: string[] }).seenStates);
    expect(seen).toEqual(['queued', 'running', 'done']);
    // Now there is a measurement of this shape on this machine: the form's time estimate names the run.
    await page.goto(`${serve.url}#/new?preset=smoke`);
    await field('training.max_steps').fill('40');
    await expect.poll(() => page.getByTestId('est-time').textContent(), { timeout: 30_000 }).toContain(id);
    await shot('new-run-05-estimate-measured');
  });

  it('picks a prepared dataset through #/new?dataset=NAME and trains on it', async () => {
    const dir = join(serve.workspace, 'text');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'train.txt'), storyText(300, 1));
    writeFileSync(join(dir, 'valid.txt'), storyText(40, 2));
    await run(process.execPath, [join(ROOT, 'bin', 'lmwb.mjs'), 'dataset', 'prepare', '--train', join(dir, 'train.txt'), '--valid', join(dir, 'valid.txt'),
      '--vocab-size', '300', '--out', join(serve.workspace, 'datasets', 'tiny-stories')], { cwd: serve.workspace, env: gpuEnv() });
    await page.goto(`${serve.url}#/new?dataset=tiny-stories`);
    await expect.poll(() => field('data.train').inputValue(), { timeout: 30_000 }).toBe('datasets/tiny-stories/train.bin');
    expect(await page.getByTestId('newrun-dataset').inputValue()).toBe('tiny-stories');
    expect(await field('data.valid').inputValue()).toBe('datasets/tiny-stories/valid.bin');
    expect(await field('model.vocab_size').inputValue()).toBe('300');
    // A vocab below the dataset's tokenizer is the trainer's start-up error, shown on the field.
    await field('model.vocab_size').fill('256');
    await expect.poll(() => page.getByTestId('error-model.vocab_size').first().textContent(), { timeout: 30_000 }).toMatch(/vocab 300/);
    await field('model.vocab_size').fill('300');
    await field('training.max_steps').fill('10');
    await field('eval.interval').fill('5');
    await field('name').fill('on-dataset');
    await expect.poll(() => page.getByTestId('newrun-status').textContent(), { timeout: 30_000 }).toContain('ready');
    await shot('new-run-03-dataset');
    const before = new Set(runFolders(serve));
    await page.getByTestId('newrun-queue').click();
    await page.getByTestId('run-detail').waitFor();
    const id = runFolders(serve).find((r) => !before.has(r))!;
    const cfg = configOf(serve, id);
    expect(cfg.data.train).toBe(join(serve.workspace, 'datasets', 'tiny-stories', 'train.bin'));
    expect(cfg.model.vocab_size).toBe(300);
    // It trains: its status reports steps (the rest of it runs while the sweep is built; the server's stop ends it).
    await until('the dataset run to train', async () => ((await apiCall<RunSummary[]>(serve, 'runs.list')).find((r) => r.id === id)?.step ?? 0) > 0, 180_000);
  });

  it('queues a sweep of two points as one group', async () => {
    await page.goto(`${serve.url}#/sweeps`);
    await page.getByTestId('sweep-key-0').waitFor();
    // The first key is filled in once the form's description has loaded (its device probe can take seconds on a
    // loaded box): wait for it rather than read the field at once.
    await expect.poll(() => page.getByTestId('sweep-key-0').inputValue(), { timeout: 60_000 }).toBe('training.max_learning_rate');
    await page.getByTestId('sweep-values-0').fill('1e-3, 4e-3');
    await page.getByTestId('sweep-sets').fill('training.max_steps=6\neval.interval=0\ncheckpoint.interval=0\nlog.interval=2');
    await page.getByTestId('sweep-name').fill('lr-ui');
    await page.getByTestId('sweep-row-lr0.001').waitFor({ timeout: 30_000 });
    await page.getByTestId('sweep-row-lr0.004').waitFor();
    expect(await page.getByTestId('sweep-count').textContent()).toContain('2 runs in sweep lr-ui');
    await expect.poll(() => page.getByTestId('sweep-queue').isDisabled()).toBe(false);
    // A log-range helper fills the values list.
    await page.getByTestId('sweep-range-toggle-0').click();
    await page.getByTestId('sweep-range-from-0').fill('1e-4');
    await page.getByTestId('sweep-range-to-0').fill('1e-2');
    await page.getByTestId('sweep-range-n-0').fill('3');
    await page.getByTestId('sweep-range-fill-0').click();
    expect(await page.getByTestId('sweep-values-0').inputValue()).toBe('0.0001, 0.001, 0.01');
    await page.getByTestId('sweep-row-lr0.01').waitFor({ timeout: 30_000 });
    await page.getByTestId('sweep-values-0').fill('1e-3, 4e-3');
    await page.getByTestId('sweep-row-lr0.004').waitFor({ timeout: 30_000 });
    await shot('sweeps-01-grid');
    const before = new Set(runFolders(serve));
    await page.getByTestId('sweep-queue').click();
    const ids = await until('the sweep runs', () => {
      // A run folder is complete once its status.json is there (the store writes it last): wait for both.
      const fresh = runFolders(serve).filter((r) => !before.has(r));
      return fresh.length === 2 && fresh.every((r) => existsSync(join(serve.workspace, 'runs', r, 'status.json'))) ? fresh : undefined;
    }, 30_000);
    for (const id of ids) {
      const meta = JSON.parse(readFileSync(join(serve.workspace, 'runs', id, 'meta.json'), 'utf8')) as { group: string; sweep: { name: string; keys: Record<string, number> } };
      expect(meta.group).toBe('lr-ui');
      expect(meta.sweep.name).toBe('lr-ui');
    }
    const lrs = ids.map((id) => (JSON.parse(readFileSync(join(serve.workspace, 'runs', id, 'meta.json'), 'utf8')) as { sweep: { keys: Record<string, number> } }).sweep.keys['training.max_learning_rate']).sort();
    expect(lrs).toEqual([0.001, 0.004]);
    const rows = await apiCall<RunSummary[]>(serve, 'runs.list');
    for (const id of ids) expect(rows.find((r) => r.id === id)?.sweep).toBe('lr-ui');
    // An ablation as a starting point: the TinyStories base with the variant's change, marked against the preset
    // (its dataset is not prepared in this workspace: the form says so on data.train).
    await page.goto(`${serve.url}#/new?preset=ablation-post-norm`);
    await expect.poll(() => field('model.norm').inputValue(), { timeout: 30_000 }).toBe('post');
    expect(await page.locator('[data-key="model.norm"]').getAttribute('class')).toContain('changed');
    await expect.poll(() => page.getByTestId('error-data.train').textContent(), { timeout: 30_000 }).toMatch(/not found/);
    expect(await field('name').inputValue()).toBe('post-norm');
    await expect.poll(() => page.getByTestId('newrun-status').textContent(), { timeout: 30_000 }).toMatch(/problems? to fix/);
    await shot('new-run-06-ablation-start');
    // The ablation preset on the smoke base, in the dark theme: its runs listed before anything is queued.
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.goto(`${serve.url}#/sweeps`);
    await page.getByTestId('sweep-preset').selectOption('ablations');
    await page.getByTestId('sweep-row-post-norm').waitFor({ timeout: 30_000 });
    await shot('sweeps-02-ablations-dark');
    await page.emulateMedia({ colorScheme: 'light' });
  });
});
