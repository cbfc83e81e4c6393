// The Datasets view end to end, against the real backend: `lmwb serve` over a fresh workspace, preparations run
// as real `lmwb dataset prepare` children, Debian's Chromium. Import generated stories as a dataset (training
// text by path, validation text by upload), see its steps complete, its counts (checked against the token files)
// and decoded samples (checked against the source text); "New run on this dataset" lands on #/new?dataset=NAME, where
// the form has it chosen and a run queued from there trains on the imported tokens;
// a big import shows progress with rate and ETA and is cancelled mid-way, leaving no dataset and nothing
// half-written; a text with invalid UTF-8 shows its one-line error with its code; a too-small vocab is refused in
// the form. Screenshots: e2e/artifacts/datasets-NN-*.png.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { apiCall, ARTIFACTS, browserMissing, launchBrowser, startServe, until, type Serve } from './lib';
import type { DatasetSummary } from '../src-main/api/areas/datasets';
import { stories } from '../test/dataset/stories';
import { loadTokenizer } from '../src-main/tokenizer/index';

const missing = browserMissing();
if (missing) console.warn(`skipping the Datasets e2e tests: ${missing}`);

describe.skipIf(!!missing)('Datasets view over lmwb serve (real backend, real children, real browser)', () => {
  let serve: Serve;
  let browser: Browser;
  let page: Page;
  const texts = mkdtempSync(join(tmpdir(), 'lmwb-e2e-texts-'));
  const trainText = stories(300_000, 1);
  const validText = stories(40_000, 2);
  const train = join(texts, 'stories-train.txt');
  const valid = join(texts, 'stories-valid.txt');
  const big = join(texts, 'big-train.txt');
  const bad = join(texts, 'broken.txt');
  const shot = (name: string) => page.screenshot({ path: join(ARTIFACTS, `datasets-${name}.png`), fullPage: true });
  const tempFiles = (dir: string): string[] =>
    existsSync(dir) ? readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => /\.tmp-|\.upload-/.test(f)) : [];

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    writeFileSync(train, trainText);
    writeFileSync(valid, validText);
    writeFileSync(big, stories(60_000_000, 3)); // long enough to cancel mid-way
    writeFileSync(bad, Buffer.concat([Buffer.from('Once upon a time there was a '), Buffer.from([0xc3, 0x28]), Buffer.from(' cat.<|endoftext|>\n')]));
    serve = await startServe();
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    page.on('pageerror', (e) => console.error('page error:', e.message));
    await page.goto(serve.loginUrl);
    await page.getByTestId('nav-datasets').click();
    await page.getByTestId('view-datasets').waitFor();
  });
  afterAll(async () => {
    await browser?.close();
    await serve?.stop();
    rmSync(texts, { recursive: true, force: true });
  });

  it('imports a text (path + upload) as a dataset, shows its steps, exact counts and decoded samples', async () => {
    // An empty workspace opens on the import form.
    const form = page.getByTestId('ds-import');
    await form.waitFor();
    await page.getByTestId('ds-train-path').fill(train);
    await page.getByTestId('ds-vocab').fill('500');
    await page.getByTestId('ds-valid-file').setInputFiles(valid);
    await expect.poll(() => page.getByTestId('ds-valid-path').inputValue(), { timeout: 30_000 }).toBe('data/uploads/stories-valid.txt');
    expect(readFileSync(join(serve.workspace, 'data', 'uploads', 'stories-valid.txt'), 'utf8')).toBe(validText);
    expect(await page.getByTestId('ds-name').inputValue()).toBe('stories-bpe500');
    await shot('01-import');
    await page.getByTestId('ds-prepare').click();

    const card = page.getByTestId('ds-job-stories-bpe500');
    await card.waitFor();
    await until('the preparation to finish', async () => (await card.getAttribute('data-state')) === 'done' || undefined, 180_000);
    for (const step of ['Read train text', 'Read valid text', 'Tokenizer', 'Encode train.bin', 'Encode valid.bin']) await expect.poll(() => card.textContent()).toContain(step);

    // The finished dataset opens by itself; its counts are the token files' sizes.
    const detail = page.getByTestId('ds-detail-stories-bpe500');
    await detail.waitFor({ timeout: 30_000 });
    const dir = join(serve.workspace, 'datasets', 'stories-bpe500');
    const nTrain = readFileSync(join(dir, 'train.bin')).length / 2;
    const nValid = readFileSync(join(dir, 'valid.bin')).length / 2;
    expect(Number(await page.getByTestId('ds-tokens-train').getAttribute('data-value'))).toBe(nTrain);
    expect(Number(await page.getByTestId('ds-tokens-valid').getAttribute('data-value'))).toBe(nValid);
    // The stories use few words: BPE runs out of pairs before 500, and the view says so.
    const vocab = loadTokenizer(join(dir, 'tokenizer')).vocabSize;
    expect(vocab).toBeLessThanOrEqual(500);
    expect(await page.getByTestId('ds-vocab-size').textContent()).toBe(vocab.toLocaleString('en-US'));
    if (vocab < 500) expect(await page.getByTestId('ds-vocab-note').textContent()).toContain('500 asked for');
    const listed = (await apiCall<DatasetSummary[]>(serve, 'datasets.list')).find((d) => d.name === 'stories-bpe500')!;
    expect(listed.tokens).toEqual({ train: nTrain, valid: nValid });
    expect(await page.getByTestId('ds-source-train').textContent()).toContain(listed.sources!.train.sha256.slice(0, 16));

    // Decoded samples: three windows per split, each a piece of its source text.
    const samples = page.getByTestId('ds-sample');
    await expect.poll(() => samples.count(), { timeout: 30_000 }).toBe(6);
    for (let i = 0; i < 6; i++) {
      const s = samples.nth(i);
      const split = await s.getAttribute('data-split');
      const text = (await s.getByTestId('ds-sample-text').textContent()) ?? '';
      expect(text.length).toBeGreaterThan(50);
      expect((split === 'train' ? trainText : validText).includes(text)).toBe(true);
    }
    await shot('02-detail');
    await page.getByTestId('ds-show-tokens').check();
    await shot('03-tokens');
    await page.emulateMedia({ colorScheme: 'dark' });
    await shot('04-detail-dark');
    await page.emulateMedia({ colorScheme: 'light' });
  });

  it('"New run on this dataset" opens the New run form with it chosen', async () => {
    await page.getByTestId('ds-new-run').click();
    await expect.poll(() => page.evaluate(() => location.hash)).toBe('#/new?dataset=stories-bpe500');
    // The New run form (another view) has the dataset chosen and its token files in the data fields.
    await expect.poll(() => page.getByTestId('newrun-dataset').inputValue(), { timeout: 60_000 }).toBe('stories-bpe500');
    await expect.poll(() => page.getByTestId('field-data.train').inputValue()).toContain('datasets/stories-bpe500/train.bin');
    // Queue a short run on it from the form and see it train on the imported tokens.
    await page.getByTestId('field-training.max_steps').fill('6');
    await page.getByTestId('field-eval.interval').fill('3');
    await page.getByTestId('field-name').fill('on-imported');
    await expect.poll(() => page.getByTestId('newrun-status').textContent(), { timeout: 60_000 }).toContain('ready');
    await page.getByTestId('newrun-queue').click();
    await page.getByTestId('run-detail').waitFor();
    const run = await until('the run on the imported dataset to train', async () =>
      (await apiCall<Array<{ id: string; name: string; step: number | null; config: Record<string, unknown> }>>(serve, 'runs.list')).find((r) => r.name === 'on-imported' && (r.step ?? 0) > 0), 180_000);
    const cfg = JSON.parse(readFileSync(join(serve.workspace, 'runs', run.id, 'config.json'), 'utf8')) as { data: { train: string }; model: { vocab_size: number } };
    expect(cfg.data.train).toBe(join(serve.workspace, 'datasets', 'stories-bpe500', 'train.bin'));
    // The form set vocab_size to the tokenizer's real vocab (BPE may stop below the 500 asked for: no pairs left).
    const ds = (await apiCall<DatasetSummary[]>(serve, 'datasets.list')).find((d) => d.name === 'stories-bpe500')!;
    expect(cfg.model.vocab_size).toBe(ds.vocabSize);
    await page.goBack(); // the form
    await page.goBack(); // the dataset's page
    await page.getByTestId('ds-detail-stories-bpe500').waitFor();
  });

  it('shows a big import\'s progress (amount, rate, ETA) and cancels it mid-way: no dataset, nothing half-written', async () => {
    await page.getByTestId('ds-open-import').click();
    await page.getByTestId('ds-train-path').fill(big);
    await page.getByTestId('ds-vocab').fill('2000');
    await page.getByTestId('ds-name').fill('big');
    // Every text the job's progress line shows, recorded in the page as it changes: the tokenizer's counting lasts
    // about a second here, too short to catch reliably by polling the DOM (the line updates up to 10 times a second).
    await page.evaluate(() => {
      const w = window as unknown as { progressTexts: string[] };
      w.progressTexts = [];
      new MutationObserver(() => {
        const t = document.querySelector('[data-test="ds-job-big"] [data-test="ds-progress"]')?.textContent ?? '';
        if (t && w.progressTexts[w.progressTexts.length - 1] !== t) w.progressTexts.push(t);
      }).observe(document.body, { subtree: true, childList: true, characterData: true, attributes: true });
    });
    await page.getByTestId('ds-prepare').click();
    const card = page.getByTestId('ds-job-big');
    const progress = card.getByTestId('ds-progress');
    await until('progress of the big import', async () => Number(await progress.getAttribute('data-done', { timeout: 1000 }).catch(() => '0')) > 0 || undefined, 180_000);
    // The tokenizer's counting or merging (after the hash): amount, rate and ETA (an ETA under a second reads "<1s").
    const seen = await until('a rate and an ETA while training the tokenizer', async () => {
      const texts = await page.evaluate(() => (window as unknown as { progressTexts: string[] }).progressTexts);
      return texts.find((t) => /Tokenizer: /.test(t) && /\/s · ETA (\d|<1s)/.test(t));
    }, 120_000);
    expect(seen).toMatch(/Tokenizer: (counting pre-tokens|learning merges).*\d.*\/s · ETA/s);
    await shot('05-progress');
    await page.getByTestId('ds-cancel-big').click();
    await until('the import to be cancelled', async () => (await card.getAttribute('data-state')) === 'cancelled' || undefined, 60_000);
    expect(await page.getByTestId('ds-job-error-big').textContent()).toMatch(/ABORTED\s+cancelled: nothing half-written/);
    expect(existsSync(join(serve.workspace, 'datasets', 'big'))).toBe(false);
    const staging = join(serve.workspace, 'datasets', '.staging', 'big');
    expect(tempFiles(staging)).toEqual([]);
    expect(existsSync(join(staging, 'dataset.json'))).toBe(false);
    for (const f of readdirSync(staging).filter((n) => n.endsWith('.bin'))) {
      const m = JSON.parse(readFileSync(join(staging, `${f}.json`), 'utf8')) as { num_tokens: number };
      expect(readFileSync(join(staging, f)).length).toBe(m.num_tokens * 2);
    }
    expect((await apiCall<DatasetSummary[]>(serve, 'datasets.list')).map((d) => d.name)).toEqual(['stories-bpe500']);
    await shot('06-cancelled');
    // Discard deletes the steps it had finished (kept in staging so that a retry continues from them).
    await page.getByTestId('ds-discard-big').click();
    await until('the staging folder to go', () => !existsSync(staging) || undefined, 30_000);
    await card.waitFor({ state: 'detached' });
  });

  it('a bad input shows its message: invalid UTF-8 as the job\'s one-line coded error, a too-small vocab in the form', async () => {
    await page.getByTestId('ds-open-import').click();
    await page.getByTestId('ds-train-path').fill(bad);
    await page.getByTestId('ds-vocab').fill('100');
    await expect.poll(() => page.getByTestId('ds-vocab-error').textContent()).toContain('at least 257');
    expect(await page.getByTestId('ds-prepare').isDisabled()).toBe(true);
    await page.getByTestId('ds-vocab').fill('300');
    await page.getByTestId('ds-name').fill('broken');
    await page.getByTestId('ds-prepare').click();
    const card = page.getByTestId('ds-job-broken');
    await until('the broken import to fail', async () => (await card.getAttribute('data-state').catch(() => null)) === 'failed' || undefined, 180_000);
    const line = (await page.getByTestId('ds-job-error-broken').textContent()) ?? '';
    expect(line).toMatch(/^\s*INVALID_UTF8\s/);
    expect(line).toMatch(/not valid UTF-8/);
    expect(existsSync(join(serve.workspace, 'datasets', 'broken'))).toBe(false);
    // The same name again while the form's path is missing: refused at once with its code.
    await page.getByTestId('ds-train-path').fill(join(texts, 'no-such-file.txt'));
    await page.getByTestId('ds-name').fill('missing');
    await page.getByTestId('ds-prepare').click();
    await expect.poll(() => page.getByTestId('ds-import-error').textContent()).toMatch(/FILE_NOT_FOUND\s+training file not found/);
    await shot('07-errors');
  });
});
