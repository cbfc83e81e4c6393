/**
 * e2e helpers: the real backend (`lmwb serve` as a child process over a temp workspace) and Debian's Chromium
 * driven by playwright-core. Nothing is faked: runs are trained by the real trainer on llvmpipe.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, selectors, type Browser } from 'playwright-core';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const ARTIFACTS = join(ROOT, 'e2e', 'artifacts');
export const CHROMIUM = process.env.LMWB_CHROMIUM ?? '/usr/bin/chromium';

/** Why the browser tests cannot run here, or null. */
export function browserMissing(): string | null {
  if (!existsSync(CHROMIUM)) return `no Chromium at ${CHROMIUM} (run e2e/ci-setup.sh, or set LMWB_CHROMIUM)`;
  if (!existsSync(join(ROOT, 'out', 'renderer', 'index.html'))) return 'the UI is not built (npm run build)';
  return null;
}

export function gpuEnv(): NodeJS.ProcessEnv {
  const xdg = process.env.XDG_RUNTIME_DIR ?? `/tmp/xdg-runtime-${process.getuid?.() ?? 0}`;
  mkdirSync(xdg, { recursive: true, mode: 0o700 });
  return { ...process.env, XDG_RUNTIME_DIR: xdg };
}

export interface Serve {
  url: string;
  loginUrl: string;
  token: string;
  workspace: string;
  proc: ChildProcess;
  stop(): Promise<void>;
}

/**
 * Starts the real `lmwb serve` on a free port over `workspace` (a new temp folder by default, removed by stop();
 * set LMWB_E2E_KEEP=1 to keep it for a look).
 */
export async function startServe(given?: string): Promise<Serve> {
  const workspace = given ?? mkdtempSync(join(tmpdir(), 'lmwb-e2e-'));
  const removeOnStop = given === undefined && !process.env.LMWB_E2E_KEEP;
  const proc = spawn(process.execPath, [join(ROOT, 'bin', 'lmwb.mjs'), 'serve', '--port', '0', '--workspace', workspace], {
    cwd: ROOT,
    env: { ...gpuEnv(), LMWB_SETTINGS_DIR: join(workspace, '.settings') },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  proc.stderr?.on('data', (b) => (err += String(b)));
  const loginUrl = await new Promise<string>((resolve, reject) => {
    let out = '';
    const t = setTimeout(() => reject(new Error(`lmwb serve printed no URL in 180 s; stderr: ${err}`)), 180_000);
    proc.stdout?.on('data', (b) => {
      out += String(b);
      const m = /(http:\/\/\S+\?token=\w+)/.exec(out);
      if (m) {
        clearTimeout(t);
        resolve(m[1]);
      }
    });
    proc.on('exit', (code) => reject(new Error(`lmwb serve exited with ${code}: ${err}`)));
  });
  const url = loginUrl.split('?')[0];
  return {
    url,
    loginUrl,
    token: loginUrl.split('token=')[1],
    workspace,
    proc,
    stop: async () => {
      await new Promise<void>((resolve) => {
        if (proc.exitCode !== null) return resolve();
        proc.once('exit', () => resolve());
        proc.kill('SIGTERM');
      });
      if (removeOnStop) rmSync(workspace, { recursive: true, force: true });
    },
  };
}

/** Debian's Chromium, headless; playwright's launch() gives it a fresh temporary profile (user-data-dir) each time. */
export function launchBrowser(): Promise<Browser> {
  selectors.setTestIdAttribute('data-test'); // the UI marks its test hooks data-test="…"
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}

/** A typed API call with the token (what a script would do). */
export async function apiCall<T = unknown>(s: Serve, method: string, params: unknown = {}): Promise<T> {
  const r = await fetch(`${s.url}api`, { method: 'POST', headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${s.token}` }, body: JSON.stringify({ method, params }) });
  const j = (await r.json()) as { ok: boolean; result?: T; error?: { message: string } };
  if (!j.ok) throw new Error(`${method}: ${j.error?.message}`);
  return j.result as T;
}

export async function until<T>(what: string, fn: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 120_000, everyMs = 250): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
