// 5,000 runs in the Runs table over the real `lmwb serve`: the listing arrives, only the rows on screen exist in
// the DOM (virtual scrolling), scrolling to the end shows the last run, and a filter and a sort stay quick.
// Run folders are fixtures written here (config.json, meta.json, status.json, a few metrics lines).
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { ARTIFACTS, browserMissing, launchBrowser, startServe, type Serve } from './lib';

const missing = browserMissing();
const N = 5000;

describe.skipIf(!!missing)('Runs table with 5,000 runs', () => {
  let serve: Serve;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    const ws = mkdtempSync(join(tmpdir(), 'lmwb-e2e-many-'));
    const now = new Date().toISOString();
    for (let i = 0; i < N; i++) {
      const id = `sweep-${String(i).padStart(4, '0')}`;
      const dir = join(ws, 'runs', id);
      mkdirSync(dir, { recursive: true });
      const lr = 1e-4 * (1 + (i % 50));
      writeFileSync(join(dir, 'config.json'), JSON.stringify({ name: id, model: { d_model: 64 }, training: { batch_size: 2 ** (i % 8), max_learning_rate: lr } }));
      writeFileSync(join(dir, 'meta.json'), JSON.stringify({ name: id, tags: i % 100 === 0 ? ['hundred'] : [], notes: '', sweep: { name: `grid-${i % 10}`, keys: { 'training.max_learning_rate': lr } } }));
      writeFileSync(join(dir, 'status.json'), JSON.stringify({ state: i % 7 === 0 ? 'failed' : 'done', attempts: 1, restarts: [], created: now, updated: now, best_val_loss: 1 + (i % 997) / 1000, tokens_per_s: 1000 + i, elapsed_s: i }));
    }
    serve = await startServe(ws);
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  });
  afterAll(async () => {
    await browser?.close();
    await serve?.stop();
  });

  it('lists them all, renders only what is on screen, scrolls to the end, filters and sorts quickly', async () => {
    const t0 = Date.now();
    await page.goto(serve.loginUrl);
    await page.locator('[data-run]').first().waitFor({ timeout: 150_000 });
    const loadMs = Date.now() - t0;
    await expect.poll(() => page.locator('.runs-view .toolbar .muted').first().textContent()).toContain(`${N} of ${N} runs`);
    const domRows = await page.locator('[data-run]').count();
    expect(domRows).toBeGreaterThan(10);
    expect(domRows).toBeLessThan(100); // virtualized: ~30 visible + overscan, not 5,000
    // Scroll to the bottom in steps, timing the frames the browser draws meanwhile.
    const scroll = await page.evaluate(async () => {
      const body = document.querySelector('[data-test="runs-body"]') as HTMLElement;
      const frames: number[] = [];
      let last = performance.now();
      for (let i = 0; i < 60; i++) {
        body.scrollTop += body.scrollHeight / 60;
        await new Promise((r) => requestAnimationFrame(r));
        const t = performance.now();
        frames.push(t - last);
        last = t;
      }
      frames.sort((a, b) => a - b);
      return { median: frames[30], p90: frames[54] };
    });
    const lastId = 'sweep-4999'; // all created at once: the id breaks the tie, ascending
    await expect.poll(async () => page.locator('[data-run]').evaluateAll((els) => els.map((e) => e.getAttribute('data-run')))).toContain(lastId);
    const f0 = Date.now();
    await page.evaluate(() => ((document.querySelector('[data-test="runs-body"]') as HTMLElement).scrollTop = 0));
    await page.getByTestId('filter').fill('tag:hundred');
    await expect.poll(() => page.locator('.runs-view .toolbar .muted').first().textContent()).toContain(`${N / 100} of ${N} runs`);
    expect(await page.locator('[data-run]').first().getAttribute('data-run')).toMatch(/^sweep-\d\d00$/);
    const filterMs = Date.now() - f0;
    await page.getByTestId('filter').fill('');
    const s0 = Date.now();
    await page.locator('.thead .sortable', { hasText: 'best val' }).click();
    await expect.poll(() => page.locator('[data-run]').first().getAttribute('data-run')).toBe('sweep-0000');
    const sortMs = Date.now() - s0;
    await page.screenshot({ path: join(ARTIFACTS, '06-runs-5000.png') });
    console.log(`5,000 runs: first rows after ${loadMs} ms; scroll frames median ${scroll.median.toFixed(1)} ms, p90 ${scroll.p90.toFixed(1)} ms; filter ${filterMs} ms; sort ${sortMs} ms`);
    // The frame times are a measurement, printed above, not an assertion: on a shared 2-core CI box they depend on
    // the load (a p90 of 444 ms was seen with llvmpipe training beside the browser). What keeps 5,000 rows smooth,
    // the virtualised DOM, is asserted above.
  });
});
