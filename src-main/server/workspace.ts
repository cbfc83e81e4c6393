/**
 * The workbench's default workspace: a per-user folder (~/lmwb-workspace), or the one the user opened last,
 * remembered in a small per-user settings file shared by the desktop app and `lmwb serve`. LMWB_HOME overrides.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { writeFileAtomic } from '../util/atomic-write';

/** The per-user settings folder (XDG on Linux, Application Support on macOS, %APPDATA% on Windows). */
export function settingsDir(): string {
  if (process.env.LMWB_SETTINGS_DIR) return resolve(process.env.LMWB_SETTINGS_DIR);
  if (process.platform === 'darwin') return join(homedir(), 'Library', 'Application Support', 'lm-workbench');
  if (process.platform === 'win32') return join(process.env.APPDATA ?? join(homedir(), 'AppData', 'Roaming'), 'lm-workbench');
  return join(process.env.XDG_CONFIG_HOME ?? join(homedir(), '.config'), 'lm-workbench');
}

interface Settings {
  workspace?: string;
}

function readSettings(): Settings {
  try {
    return JSON.parse(readFileSync(join(settingsDir(), 'settings.json'), 'utf8')) as Settings;
  } catch {
    return {};
  }
}

/** The workspace to open: explicit, else LMWB_HOME, else the remembered one, else ~/lmwb-workspace (created). */
export function defaultWorkspace(explicit?: string): string {
  const dir = resolve(explicit ?? process.env.LMWB_HOME ?? readSettings().workspace ?? join(homedir(), 'lmwb-workspace'));
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** Remembers the workspace for the next launch. */
export function rememberWorkspace(dir: string): void {
  writeFileAtomic(join(settingsDir(), 'settings.json'), `${JSON.stringify({ ...readSettings(), workspace: resolve(dir) }, null, 2)}\n`);
}
