// The generation playground end to end: two tiny smoke runs trained by the real `lmwb train` in the test's
// workspace (checkpoints kept), the real `lmwb serve` (whose generation child process decodes on llvmpipe) and
// Debian's Chromium. A checkpoint opened from the URL streams its text in (several partial updates before done);
// two checkpoints side by side with the same prompt and seed each show exactly what `lmwb generate --json` prints
// for that checkpoint with the same settings (the oracle); Stop stops; a saved sample lands in samples.jsonl and
// on the run's page; a bad setting shows its message and disables Generate; a worker killed with -9 is restarted and
// the view says so. Screenshots: e2e/artifacts/playground-*.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { apiCall, ARTIFACTS, browserMissing, gpuEnv, launchBrowser, ROOT, startServe, until, type Serve } from './lib';

const missing = browserMissing();
if (missing) console.warn(`skipping the playground e2e tests: ${missing}`);

const STEP = 'step_0000020.safetensors';
const PROMPT = 'Once upon a time';
const SETTINGS = { temperature: '0.8', topP: '0.95', topK: '0', maxNewTokens: '120', seed: '5' };

/** The real CLI in the workspace; resolves with stdout (rejects with stderr on a non-zero exit). */
function lmwb(ws: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [join(ROOT, 'bin', 'lmwb.mjs'), ...args], { cwd: ws, env: gpuEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (b) => (out += String(b)));
    p.stderr.on('data', (b) => (err += String(b)));
    p.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`lmwb ${args[0]} exited ${code}: ${err}`))));
  });
}

const train = (ws: string, id: string, lr: string) =>
  lmwb(ws, ['train', '--preset', 'smoke', '--workspace', ws, '--out', `runs/${id}`, '--set', 'training.max_steps=20', '--set', 'eval.interval=10', '--set', 'checkpoint.interval=10', '--set', 'checkpoint.keep_last=0', '--set', 'log.interval=5', '--set', `training.max_learning_rate=${lr}`]);

/** What `lmwb generate` prints for a checkpoint with the playground's settings (one sample). */
async function oracle(ws: string, run: string): Promise<string> {
  const out = await lmwb(ws, ['generate', '--checkpoint', join(ws, 'runs', run, 'checkpoints', STEP), '--prompt', PROMPT, '--temperature', SETTINGS.temperature, '--top-p', SETTINGS.topP, '--top-k', SETTINGS.topK, '--max-new-tokens', SETTINGS.maxNewTokens, '--seed', SETTINGS.seed, '--json', '--no-save']);
  return (JSON.parse(out.trim().split('\n')[0]) as { text: string }).text;
}

describe.skipIf(!!missing)('generation playground (real lmwb serve, real generation worker, real browser)', () => {
  let ws: string;
  let serve: Serve;
  let browser: Browser;
  let page: Page;
  let want: Promise<{ a: string; b: string }>;
  const shot = (name: string) => page.screenshot({ path: join(ARTIFACTS, `playground-${name}.png`), fullPage: true });
  const text = (pane: 'a' | 'b') => page.getByTestId(`pg-text-${pane}-0`).textContent().then((t) => t ?? '');
  const state = (pane: 'a' | 'b') => page.getByTestId(`pg-out-${pane}`).getAttribute('data-state');

  async function fill(values: Record<string, string>): Promise<void> {
    await page.getByTestId('pg-prompt').fill(PROMPT);
    for (const [k, v] of Object.entries(values)) await page.getByTestId(`pg-field-${k}`).fill(v);
  }

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    ws = mkdtempSync(join(tmpdir(), 'lmwb-e2e-pg-'));
    // The smoke preset's byte-level dataset is made by the first run; the second reuses it.
    await train(ws, 'pg-a', '0.003');
    await train(ws, 'pg-b', '0.01');
    // The oracle runs while the server and the browser start.
    want = Promise.all([oracle(ws, 'pg-a'), oracle(ws, 'pg-b')]).then(([a, b]) => ({ a, b }));
    want.catch(() => undefined);
    serve = await startServe(ws);
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    page.on('pageerror', (e) => console.error('page error:', e.message));
    await page.goto(serve.loginUrl);
  }, 300_000);
  afterAll(async () => {
    await browser?.close();
    await serve?.stop();
    if (ws) rmSync(ws, { recursive: true, force: true });
  });

  it('opens a checkpoint from the URL; its text streams in, then equals `lmwb generate`', async () => {
    await page.goto(`${serve.url}#/playground?a=pg-a/${STEP}`);
    await expect.poll(() => page.getByTestId('pg-ckpt-a').inputValue(), { timeout: 20_000 }).toBe(`pg-a/${STEP}`);
    await fill(SETTINGS);
    // Record every text the pane shows while it runs (a MutationObserver in the page: no polling gaps).
    await page.evaluate(() => {
      const w = window as unknown as { pgSeen: string[] };
      w.pgSeen = [];
      const out = document.querySelector('[data-test="pg-out-a"]')!;
      new MutationObserver(() => {
        const t = out.querySelector('[data-test="pg-text-a-0"]')?.textContent ?? '';
        if (out.getAttribute('data-state') === 'running' && t && w.pgSeen[w.pgSeen.length - 1] !== t) w.pgSeen.push(t);
      }).observe(out, { subtree: true, childList: true, characterData: true, attributes: true });
    });
    await page.getByTestId('pg-generate').click();
    await until('the first text', async () => (await text('a')).length > 0, 120_000, 100);
    await shot('01-streaming');
    await until('pane a to finish', async () => (await state('a')) === 'done', 180_000);
    const seen = await page.evaluate(() => (window as unknown as { pgSeen: string[] }).pgSeen);
    const final = await text('a');
    expect(seen.length).toBeGreaterThanOrEqual(2); // partial updates before done
    for (const s of seen) expect(final.startsWith(s)).toBe(true); // each a prefix of the final text
    expect(seen[0].length).toBeLessThan(final.length);
    expect(final).toBe((await want).a);
    await expect.poll(() => page.getByTestId('pg-stats-a-0').textContent()).toMatch(/^120 tokens · \d[\d.]*k? tokens\/s · max new tokens$/);
  }, 300_000);

  it('two checkpoints side by side with the same prompt and seed: each pane is what `lmwb generate` prints for it', async () => {
    // Pane b chosen with the picker: the URL follows.
    await page.getByTestId('pg-run-b').selectOption('pg-b');
    await expect.poll(() => page.evaluate(() => location.hash)).toBe(`#/playground?a=pg-a%2F${STEP}&b=pg-b%2F${STEP}`);
    await page.getByTestId('pg-generate').click();
    await until('both panes to finish', async () => (await state('a')) === 'done' && (await state('b')) === 'done', 240_000);
    const w = await want;
    expect(await text('a')).toBe(w.a);
    expect(await text('b')).toBe(w.b);
    expect(w.a).not.toBe(w.b); // two different models
    await shot('02-side-by-side');
  }, 300_000);

  it('Stop stops generation; the stopped sample is saved to samples.jsonl and shows on the run page', async () => {
    await page.getByTestId('pg-run-b').selectOption('');
    await expect.poll(() => page.evaluate(() => location.hash)).toBe(`#/playground?a=pg-a%2F${STEP}`);
    await page.getByTestId('pg-field-maxNewTokens').fill('20000');
    await page.getByTestId('pg-generate').click();
    await until('some text', async () => (await state('a')) === 'running' && (await text('a')).length > 60, 120_000, 100);
    await page.getByTestId('pg-stop').click();
    await until('the pane to stop', async () => (await state('a')) === 'stopped', 10_000, 50);
    const stopped = await text('a');
    await page.waitForTimeout(1500); // nothing more arrives
    expect(await text('a')).toBe(stopped);
    await expect.poll(() => page.getByTestId('pg-stats-a-0').textContent()).toMatch(/ · stopped$/);
    expect(await page.getByTestId('pg-generate').isEnabled()).toBe(true);
    await shot('03-stopped');

    await page.getByTestId('pg-save-a-0').click();
    await expect.poll(() => page.getByTestId('notice').textContent()).toBe('saved to runs/pg-a/samples.jsonl');
    await expect.poll(() => page.getByTestId('pg-save-a-0').textContent()).toBe('Saved');
    const lines = readFileSync(join(ws, 'runs', 'pg-a', 'samples.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ checkpoint: STEP, step: 20, prompt: PROMPT, text: stopped, stop_reason: 'aborted', settings: { temperature: 0.8, top_p: 0.95, top_k: 0, seed: 5, max_new_tokens: 20000 } });
    const status = await apiCall<{ worker: string }>(serve, 'playground.status');
    expect(status.worker).toBe('ready');

    await page.goto(`${serve.url}#/run/pg-a`);
    await expect.poll(() => page.getByTestId('run-sample-text').first().textContent(), { timeout: 20_000 }).toBe(stopped);
    await page.getByTestId('run-samples').scrollIntoViewIfNeeded();
    await shot('04-run-samples');
  }, 300_000);

  it('a bad setting shows its message beside the field and Generate is disabled', async () => {
    await page.goto(`${serve.url}#/playground?a=pg-a/${STEP}&b=pg-b/${STEP}`);
    await page.getByTestId('pg-field-topP').fill('1.5');
    await expect.poll(() => page.getByTestId('pg-error-topP').textContent()).toBe('top-p must be in (0, 1] (1 keeps every token)');
    await page.getByTestId('pg-field-topK').fill('2.5');
    await expect.poll(() => page.getByTestId('pg-error-topK').textContent()).toBe('top-k must be an integer ≥ 0 (0 keeps every token)');
    expect(await page.getByTestId('pg-generate').isDisabled()).toBe(true);
    await shot('05-validation');
    await page.getByTestId('pg-field-topP').fill('0.9');
    await page.getByTestId('pg-field-topK').fill('40');
    await page.getByTestId('pg-field-maxNewTokens').fill('120');
    expect(await page.getByTestId('pg-generate').isEnabled()).toBe(true);
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.getByTestId('pg-generate').click();
    await until('both panes to finish', async () => (await state('a')) === 'done' && (await state('b')) === 'done', 240_000);
    await shot('06-dark');
    await page.emulateMedia({ colorScheme: 'light' });
  }, 300_000);

  it('a generation worker that dies (kill -9) fails its panes with a code, is restarted, and the view says so', async () => {
    const { pid } = await apiCall<{ pid: number | null }>(serve, 'playground.status');
    expect(pid).toBeGreaterThan(0);
    await fill({ ...SETTINGS, maxNewTokens: '20000' });
    await page.getByTestId('pg-generate').click();
    await until('some text', async () => (await state('a')) === 'running' && (await text('a')).length > 10, 120_000, 100);
    process.kill(pid!, 'SIGKILL');
    await until('pane a to fail', async () => (await state('a')) === 'failed', 30_000);
    await expect.poll(() => page.getByTestId('pg-error-a').textContent()).toMatch(/^WORKER_DIED: the generation worker stopped \(SIGKILL\)/);
    await expect.poll(() => page.getByTestId('pg-worker').getAttribute('data-state'), { timeout: 120_000 }).toBe('ready');
    await expect.poll(() => page.getByTestId('pg-worker-note').textContent()).toBe('the generation worker was restarted (1×)');
    await shot('07-worker-restarted');
    // The restarted worker generates the same text as before.
    await page.getByTestId('pg-field-maxNewTokens').fill(SETTINGS.maxNewTokens);
    await page.getByTestId('pg-generate').click();
    await until('both panes to finish', async () => (await state('a')) === 'done' && (await state('b')) === 'done', 240_000);
    const w = await want;
    expect([await text('a'), await text('b')]).toEqual([w.a, w.b]);
  }, 300_000);
});
