// The workbench UI end to end, against the real backend: `lmwb serve` over a fresh workspace, runs trained by the
// real trainer on llvmpipe, Debian's Chromium. First launch offers the smoke run; its curve grows live; two
// finished runs overlay in Compare and switching x to wall-clock changes the axis; an exported PNG decodes with
// the requested size and is not blank; the API without the token answers 401. Screenshots: e2e/artifacts/.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { apiCall, ARTIFACTS, browserMissing, launchBrowser, startServe, until, type Serve } from './lib';
import type { RunSummary } from '../src-main/api/contract';

const missing = browserMissing();
if (missing) console.warn(`skipping the UI e2e tests: ${missing}`);

// Tiny runs: a few steps of the smoke model, logged every 2 steps.
const TINY = ['training.max_steps=12', 'log.interval=2', 'eval.interval=6', 'checkpoint.interval=0'];

describe.skipIf(!!missing)('workbench UI over lmwb serve (real backend, real browser)', () => {
  let serve: Serve;
  let browser: Browser;
  let page: Page;
  const shot = (name: string) => page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    serve = await startServe();
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1400, height: 900 }, acceptDownloads: true });
    page.on('pageerror', (e) => console.error('page error:', e.message));
  });
  afterAll(async () => {
    await browser?.close();
    await serve?.stop();
  });

  it('answers 401 and nothing else without the token', async () => {
    for (const [path, init] of [['', {}], ['api', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"method":"runs.list"}' }]] as const) {
      const r = await fetch(`${serve.url}${path}`, init);
      expect(r.status).toBe(401);
      expect(await r.text()).toBe('unauthorized\n');
    }
  });

  it('opens on the first-launch screen and starts the smoke run in one click; its curve grows live', async () => {
    await page.goto(serve.loginUrl);
    await page.getByTestId('first-launch').waitFor();
    await shot('01-first-launch');
    await page.getByTestId('first-run').click();
    await page.getByTestId('run-detail').waitFor();
    const chart = page.getByTestId('chart').first();
    // The run trains in a child process; its metrics arrive over the WebSocket and the loss chart grows.
    const first = await until('the first points of the live run', async () => Number(await chart.getAttribute('data-points').catch(() => '0')) || undefined, 180_000);
    const later = await until('the live curve to grow', async () => {
      const n = Number(await chart.getAttribute('data-points'));
      return n > first ? n : undefined;
    }, 120_000);
    expect(later).toBeGreaterThan(first);
    await shot('02-run-detail-live');
    // Stop it (the trainer checkpoints and exits): the table must then show it as paused.
    await page.getByTestId('stop').click();
    await until('the run to stop', async () => {
      const runs = await apiCall<RunSummary[]>(serve, 'runs.list');
      return runs[0]?.state === 'paused' || runs[0]?.state === 'done';
    }, 120_000);
  });

  it('lists the workspace runs in the table', async () => {
    // Two short runs with different learning rates, trained one after the other by the backend's launcher.
    const a = await apiCall<{ id: string }>(serve, 'runs.start', { set: [...TINY, 'training.max_learning_rate=0.003'], name: 'lr3e-3' });
    const b = await apiCall<{ id: string }>(serve, 'runs.start', { set: [...TINY, 'training.max_learning_rate=0.01'], name: 'lr1e-2' });
    await page.goto(`${serve.url}#/runs`);
    await until('both runs to finish', async () => {
      const runs = await apiCall<RunSummary[]>(serve, 'runs.list');
      return [a.id, b.id].every((id) => runs.find((r) => r.id === id)?.state === 'done');
    }, 240_000);
    const rows = page.locator('[data-run]');
    await until('three rows', async () => (await rows.count()) === 3);
    const ids = await rows.evaluateAll((els) => els.map((e) => e.getAttribute('data-run')));
    expect(new Set(ids)).toEqual(new Set((await apiCall<RunSummary[]>(serve, 'runs.list')).map((r) => r.id)));
    await expect.poll(() => page.locator(`[data-run="${a.id}"] .badge`).getAttribute('data-state'), { timeout: 10_000 }).toBe('done');
    await shot('03-runs');
  });

  it('overlays two finished runs in Compare; x = wall-clock changes the axis', async () => {
    const runs = (await apiCall<RunSummary[]>(serve, 'runs.list')).filter((r) => r.state === 'done');
    expect(runs).toHaveLength(2);
    await page.goto(`${serve.url}#/runs`);
    for (const r of runs) await page.locator(`[data-run="${r.id}"]`).click({ modifiers: ['Control'] });
    await page.getByTestId('compare').click();
    await page.getByTestId('compare-view').waitFor();
    const chart = page.getByTestId('chart');
    await expect.poll(() => chart.getAttribute('data-curves'), { timeout: 20_000 }).toBe('2');
    expect(await chart.getAttribute('data-x-title')).toBe('step');
    await expect.poll(() => page.getByTestId('config-diff').textContent()).toContain('training.max_learning_rate');
    await shot('04-compare-step');
    await page.getByTestId('x-axis').selectOption('elapsed_s');
    await expect.poll(() => chart.getAttribute('data-x-title'), { timeout: 10_000 }).toMatch(/^wall-clock \((s|min|h)\)$/);
    await shot('05-compare-wall-clock');
  });

  it('exports the chart as a PNG of the requested size that is not blank', async () => {
    await page.getByTestId('export').click();
    await page.getByTestId('export-width').fill('1600');
    await page.getByTestId('export-height').fill('1000');
    await page.getByTestId('export-dpi').fill('150');
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-go').click()]);
    const path = join(ARTIFACTS, 'export.png');
    await download.saveAs(path);
    // Decode it in the browser (a real PNG decoder): the requested 1600×1000 pixels.
    const bytes = (await import('node:fs')).readFileSync(path);
    const check = await browser.newPage();
    const stats = await check.evaluate(async (b64) => {
      const img = await createImageBitmap(new Blob([Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))], { type: 'image/png' }));
      const canvas = new OffscreenCanvas(img.width, img.height);
      const ctx = canvas.getContext('2d')!;
      ctx.drawImage(img, 0, 0);
      const px = ctx.getImageData(0, 0, img.width, img.height).data;
      let dark = 0;
      const colours = new Set<number>();
      for (let i = 0; i < px.length; i += 4 * 7) {
        if (px[i] + px[i + 1] + px[i + 2] < 600) dark++;
        colours.add((px[i] << 16) | (px[i + 1] << 8) | px[i + 2]);
      }
      return { width: img.width, height: img.height, dark, colours: colours.size, corner: [px[0], px[1], px[2], px[3]] };
    }, bytes.toString('base64'));
    await check.close();
    expect({ width: stats.width, height: stats.height }).toEqual({ width: 1600, height: 1000 });
    expect(stats.corner).toEqual([255, 255, 255, 255]); // white background
    expect(stats.dark).toBeGreaterThan(500); // axes, text and curves
    expect(stats.colours).toBeGreaterThan(4); // two run colours, text, grid
    writeFileSync(join(ARTIFACTS, 'export-stats.json'), JSON.stringify(stats));
  });

  it('follows the system dark theme', async () => {
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.waitForTimeout(500);
    const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    expect(bg).toBe('rgb(21, 23, 27)');
    await shot('07-compare-dark');
    await page.emulateMedia({ colorScheme: 'light' });
  });
});
