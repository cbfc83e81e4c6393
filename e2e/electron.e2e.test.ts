// The desktop app itself, launched with Playwright's _electron where an Electron binary exists (skipped with a
// message where it does not, as on CI, whose npm install cannot download it). Checks the security settings from
// inside the page (no Node, the preload bridge only, the lmwb:// protocol, new windows denied) and the IPC path.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { _electron } from 'playwright-core';
import { electronBinary } from '../src-main/app/electron-binary';
import { ARTIFACTS, gpuEnv, ROOT } from './lib';

const bin = electronBinary();
const display = process.platform !== 'linux' || !!process.env.DISPLAY || !!process.env.WAYLAND_DISPLAY;
const why = !bin.path ? bin.why : !display ? 'no display (run under xvfb-run to test the desktop app)' : null;
if (why) console.warn(`skipping the Electron e2e test: ${why}`);

describe.skipIf(!!why)('desktop app (Electron)', () => {
  it('opens the UI from lmwb://, sandboxed, talking to the backend over the checked IPC bridge', async () => {
    const workspace = mkdtempSync(join(tmpdir(), 'lmwb-electron-'));
    const app = await _electron.launch({
      executablePath: bin.path!,
      args: [join(ROOT, 'out', 'main', 'index.js')],
      env: { ...gpuEnv(), LMWB_WORKSPACE: workspace, LMWB_SETTINGS_DIR: join(workspace, '.settings') } as Record<string, string>,
    });
    try {
      const page = await app.firstWindow();
      await page.locator('[data-test="first-launch"]').waitFor();
      const facts = await page.evaluate(async () => ({
        protocol: location.protocol,
        node: typeof (globalThis as { require?: unknown }).require,
        process: typeof (globalThis as { process?: unknown }).process,
        bridge: Object.keys(window.lmwb ?? {}).sort(),
        info: await window.lmwb!.call({ method: 'workspace.info', params: {} }),
        bad: await window.lmwb!.call({ method: 'runs.get', params: { id: '../../etc' } }),
        popup: window.open('https://example.com') === null,
      }));
      expect(facts.protocol).toBe('lmwb:');
      expect(facts.node).toBe('undefined');
      expect(facts.process).toBe('undefined');
      expect(facts.bridge).toEqual(['call', 'onEvent', 'saveFile', 'subscribe']);
      expect(facts.info).toMatchObject({ ok: true, result: { workspace, host: 'electron' } });
      expect(facts.bad).toMatchObject({ ok: false, error: { code: 'INVALID_ARGUMENT' } });
      expect(facts.popup).toBe(true);
      await page.screenshot({ path: join(ARTIFACTS, 'electron-first-launch.png') });
    } finally {
      await app.close();
    }
  });
});
