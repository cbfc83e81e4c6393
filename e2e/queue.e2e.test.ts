// The Queue panel and the Checkpoints browser end to end, against the real backend: `lmwb serve` over a fresh
// workspace, its `lmwb queue work` child training smoke runs on llvmpipe, Debian's Chromium. A long run trains while
// three short ones wait: its progress and ETA move; its trainer is killed (kill -9) and the worker's restart shows
// in the panel with when and why; a queued run is paused, resumed (back in its place) and another
// cancelled; the last queued run is dragged to the top (and moved with the keyboard buttons), the running run is
// paused from the panel, and the worker takes the new first run. Then that run's checkpoints: listed with val loss
// and the best marked, one deleted after the confirmation, one exported (the file's bytes equal the checkpoint's,
// an existing file replaced only after "Replace it"), "Open in playground" and "Compare two" land on
// `#/playground?a=RUN/FILE(&b=…)`. Screenshots: e2e/artifacts/queue-*.png, checkpoints-*.png.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { apiCall, ARTIFACTS, browserMissing, launchBrowser, startServe, until, type Serve } from './lib';
import type { RunDetail, RunSummary } from '../src-main/api/contract';
import { parseRoute } from '../src-renderer/src/stores/ui';

const missing = browserMissing();
if (missing) console.warn(`skipping the queue e2e tests: ${missing}`);

// Every trainer waits this long after each step (inherited by serve → worker → trainer), so the long run is still
// training while the test acts on the panel, however fast the machine.
process.env.LMWB_STEP_DELAY_MS = '120';
const LONG = ['training.max_steps=2000', 'log.interval=2', 'eval.interval=1000', 'checkpoint.interval=10'];
// Short runs: 12 steps, an evaluation and a checkpoint every 4 (all kept).
const SHORT = ['training.max_steps=12', 'log.interval=2', 'eval.interval=4', 'checkpoint.interval=4', 'checkpoint.keep_last=0'];
const ck = (step: number) => `step_${String(step).padStart(7, '0')}.safetensors`;

describe.skipIf(!!missing)('queue panel and checkpoints browser over lmwb serve', () => {
  let serve: Serve;
  let browser: Browser;
  let page: Page;
  const out = mkdtempSync(join(tmpdir(), 'lmwb-e2e-export-'));
  const ids = { long: '', b: '', c: '', d: '' };
  const shot = (name: string) => page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
  const row = (id: string) => page.getByTestId(`queue-row-${id}`);
  const attr = (id: string, a: string) => row(id).getAttribute(a, { timeout: 5_000 }).catch(() => null);
  const state = async (id: string) => (await apiCall<RunSummary[]>(serve, 'runs.list')).find((r) => r.id === id)?.state;

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    serve = await startServe();
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    page.on('pageerror', (e) => console.error('page error:', e.message));
  });
  afterAll(async () => {
    await browser?.close();
    await serve?.stop();
    rmSync(out, { recursive: true, force: true });
    if (serve) rmSync(serve.workspace, { recursive: true, force: true });
  });

  it('shows the queue in worker order; the running run’s progress and ETA move', async () => {
    ids.long = (await apiCall<{ id: string }>(serve, 'runs.start', { set: LONG, name: 'long' })).id;
    for (const k of ['b', 'c', 'd'] as const) ids[k] = (await apiCall<{ id: string }>(serve, 'runs.start', { set: SHORT, name: `short-${k}` })).id;
    await page.goto(serve.loginUrl);
    await page.goto(`${serve.url}#/queue`);
    await page.getByTestId('view-queue').waitFor();
    await until('the three short runs queued in order', async () => (await Promise.all([ids.b, ids.c, ids.d].map((id) => attr(id, 'data-position')))).join(',') === '1,2,3');
    await until('the long run training', async () => (await attr(ids.long, 'data-state')) === 'running' && Number(await attr(ids.long, 'data-step')) > 0, 180_000);
    const s1 = Number(await attr(ids.long, 'data-step'));
    const eta1 = await until('an ETA for the running run', async () => Number(await attr(ids.long, 'data-eta')) || undefined, 60_000);
    expect(await row(ids.long).getByTestId('queue-eta').textContent()).not.toBe('—');
    await until('its progress to move', async () => Number(await attr(ids.long, 'data-step')) > s1 + 4, 60_000);
    await until('its ETA to move', async () => {
      const e = Number(await attr(ids.long, 'data-eta'));
      return e > 0 && e !== eta1;
    }, 60_000);
    expect(await row(ids.long).getByTestId('queue-progress').textContent()).toMatch(/^\d+ \/ 2000$/);
    await shot('queue-01-running-and-queued');
  });

  it('shows the restart of a crashed trainer (the worker resumes it): how many, and when and why', async () => {
    await until('a checkpoint of the long run', async () => (await apiCall<RunDetail>(serve, 'runs.get', { id: ids.long })).checkpoints.length > 0, 120_000);
    const pid = (await apiCall<RunDetail>(serve, 'runs.get', { id: ids.long })).status?.pid;
    expect(pid).toBeGreaterThan(0);
    process.kill(pid!, 'SIGKILL');
    await until('the restart in the panel', async () => (await row(ids.long).getByTestId('queue-restarts').textContent({ timeout: 1000 }).catch(() => ''))?.includes('1'), 60_000);
    const st = async () => (await apiCall<RunDetail>(serve, 'runs.get', { id: ids.long })).status;
    const s0 = await until('the resumed trainer started', async () => {
      const s = await st();
      return s?.state === 'running' && !!s.pid && s.pid !== pid ? s : undefined;
    }, 120_000);
    await until('the resumed trainer training again', async () => ((await st())?.step ?? 0) > (s0.step ?? 0), 120_000);
    const status = (await apiCall<RunDetail>(serve, 'runs.get', { id: ids.long })).status!;
    expect(status.restarts).toHaveLength(1);
    expect(status.restarts[0].reason).toContain('SIGKILL');
    expect(status.restarts[0].from_step).toBeGreaterThan(0);
    await row(ids.long).getByTestId('queue-restarts').click();
    const detail = page.getByTestId(`queue-restart-list-${ids.long}`);
    await detail.waitFor();
    expect(await detail.textContent()).toContain(`SIGKILL; resumed from step ${status.restarts[0].from_step}`);
    expect(await row(ids.long).getByTestId('queue-restarts').getAttribute('title')).toContain('SIGKILL');
    await shot('queue-02-restarted');
  });

  it('pauses and resumes a queued run (back in its place) and cancels another', async () => {
    await row(ids.d).getByTestId('queue-pause').click();
    await until('d paused', async () => (await attr(ids.d, 'data-state')) === 'paused');
    expect(await page.getByTestId('queue-group-paused').textContent()).toContain('Paused');
    await row(ids.d).getByTestId('queue-resume').click();
    await until('d queued again, last as before', async () => (await attr(ids.d, 'data-position')) === '3');
    await row(ids.c).getByTestId('queue-cancel').click();
    await until('c cancelled', async () => (await attr(ids.c, 'data-state')) === 'cancelled');
    expect(await state(ids.c)).toBe('cancelled');
    // a cancelled run without a checkpoint: retry says it starts from scratch
    expect(await row(ids.c).getByTestId('queue-retry').textContent()).toBe('Retry from scratch');
    expect(await attr(ids.d, 'data-position')).toBe('2');
  });

  it('reorders by drag and drop and with the keyboard buttons; the worker takes the new first run', async () => {
    await row(ids.d).dragTo(row(ids.b), { targetPosition: { x: 300, y: 4 } });
    await until('d first after the drop', async () => (await attr(ids.d, 'data-position')) === '1' && (await attr(ids.b, 'data-position')) === '2');
    await row(ids.d).getByTestId('queue-bottom').click();
    await until('d last', async () => (await attr(ids.d, 'data-position')) === '2');
    await row(ids.d).getByTestId('queue-top').click();
    await until('d first', async () => (await attr(ids.d, 'data-position')) === '1');
    await row(ids.d).getByTestId('queue-down').click();
    await until('d second', async () => (await attr(ids.d, 'data-position')) === '2');
    await row(ids.d).getByTestId('queue-up').focus();
    await page.keyboard.press('Enter');
    await until('d first again', async () => (await attr(ids.d, 'data-position')) === '1');
    await shot('queue-03-reordered');
    // Pause the running run from the panel: it checkpoints and stops, and the worker takes the queue's first run.
    await row(ids.long).getByTestId('queue-pause').click();
    await until('the long run paused', async () => (await state(ids.long)) === 'paused', 120_000);
    await until('d taken by the worker', async () => ['running', 'done'].includes((await state(ids.d)) ?? ''), 120_000);
    await apiCall(serve, 'queue.cancel', { id: ids.b }); // b is not needed any more
    // one worker, one slot: d (moved to the top) started first; b, queued first, waited behind it
    const started = async (id: string) => (await apiCall<RunDetail>(serve, 'runs.get', { id })).status?.started;
    const [sd, sb] = [await started(ids.d), await started(ids.b)];
    expect(sd).toBeTruthy();
    if (sb) expect(sd! < sb).toBe(true);
    await until('the panel shows d running or done, b cancelled', async () => ['running', 'done'].includes((await attr(ids.d, 'data-state')) ?? '') && (await attr(ids.b, 'data-state')) === 'cancelled');
    await shot('queue-04-new-first-run-taken');
    await until('d done', async () => (await state(ids.d)) === 'done', 180_000);
    await page.emulateMedia({ colorScheme: 'dark' });
    await until('d done in the panel', async () => (await attr(ids.d, 'data-state')) === 'done');
    await shot('queue-05-dark');
    await page.emulateMedia({ colorScheme: 'light' });
  });

  it('lists a finished run’s checkpoints; deletes one after confirming; exports one; opens in the playground', async () => {
    const d = ids.d;
    await page.goto(`${serve.url}#/checkpoints?run=${d}`);
    for (const s of [4, 8, 12]) await page.getByTestId(`ckpt-row-${ck(s)}`).waitFor();
    expect(await page.getByTestId('ckpt-best').count()).toBe(1);
    expect(await page.getByTestId(`ckpt-row-${ck(12)}`).textContent()).toContain('newest');
    await shot('checkpoints-01-list');

    // delete: asks first; "Keep it" keeps it; "Delete" removes the file
    const file4 = join(serve.workspace, 'runs', d, 'checkpoints', ck(4));
    await page.getByTestId(`ckpt-delete-${ck(4)}`).click();
    await page.getByTestId('ckpt-confirm').waitFor();
    await shot('checkpoints-02-confirm-delete');
    await page.getByRole('button', { name: 'Keep it' }).click();
    expect(existsSync(file4)).toBe(true);
    await page.getByTestId(`ckpt-delete-${ck(4)}`).click();
    await page.getByTestId('ckpt-confirm-delete').click();
    await page.getByTestId(`ckpt-row-${ck(4)}`).waitFor({ state: 'detached' });
    expect(existsSync(file4)).toBe(false);

    // export: a typed path on this machine; the copy equals the checkpoint byte for byte
    const src = join(serve.workspace, 'runs', d, 'checkpoints', ck(8));
    const dest = join(out, 'exported.safetensors');
    await page.getByTestId(`ckpt-export-${ck(8)}`).click();
    await page.getByTestId('ckpt-export-path').fill(dest);
    await shot('checkpoints-03-export');
    await page.getByTestId('ckpt-export-go').click();
    await page.getByTestId('ckpt-export-dialog').waitFor({ state: 'detached' });
    expect(readFileSync(dest).equals(readFileSync(src))).toBe(true);
    // again to the same path: it exists; replaced only after confirming (with another checkpoint's bytes)
    await page.getByTestId(`ckpt-export-${ck(12)}`).click();
    await page.getByTestId('ckpt-export-path').fill(dest);
    await page.getByTestId('ckpt-export-go').click();
    await page.getByTestId('ckpt-export-exists').waitFor();
    expect(readFileSync(dest).equals(readFileSync(src))).toBe(true); // untouched so far
    await page.getByTestId('ckpt-export-replace').click();
    await page.getByTestId('ckpt-export-dialog').waitFor({ state: 'detached' });
    expect(readFileSync(dest).equals(readFileSync(join(serve.workspace, 'runs', d, 'checkpoints', ck(12))))).toBe(true);

    // open in the playground, and two side by side
    const route = () => parseRoute(new URL(page.url()).hash);
    await page.getByTestId(`ckpt-open-${ck(12)}`).click();
    await until('the playground route', () => route().view === 'playground');
    expect(route()).toEqual({ view: 'playground', params: { a: `${d}/${ck(12)}` } });
    await page.goBack();
    await page.getByTestId(`ckpt-pick-${ck(12)}`).check();
    await page.getByTestId(`ckpt-pick-${ck(8)}`).check();
    await page.getByTestId('ckpt-compare').click();
    await until('the playground route with two', () => route().view === 'playground');
    expect(route()).toEqual({ view: 'playground', params: { a: `${d}/${ck(8)}`, b: `${d}/${ck(12)}` } });

    // the paused run's newest checkpoint is what it resumes from: its Delete is disabled, and the API refuses it
    const detail = await apiCall<RunDetail>(serve, 'runs.get', { id: ids.long });
    const newest = detail.checkpoints[detail.checkpoints.length - 1].file;
    await page.goto(`${serve.url}#/checkpoints?run=${ids.long}`);
    await page.getByTestId(`ckpt-row-${newest}`).waitFor();
    expect(await page.getByTestId(`ckpt-delete-${newest}`).isDisabled()).toBe(true);
    await expect(apiCall(serve, 'checkpoints.delete', { id: ids.long, file: newest })).rejects.toThrow(/resumes from it/);
  });
});
