/**
 * The desktop app's Electron main process: one window, menus, lifecycle, IPC. Thin by design: the API and its
 * validation live in server/backend.ts (shared with `lmwb serve`); training runs in child processes; the GPU is
 * never opened here. Security (Electron's checklist): context isolation, sandbox, no Node in the renderer, a
 * strict CSP, the UI served from the lmwb:// protocol (not file://), navigation and new windows blocked, every
 * IPC sender checked, permissions denied, files outside the workspace only through dialogs the user answers.
 */
import { app, BrowserWindow, dialog, ipcMain, Menu, protocol, session, shell, type IpcMainInvokeEvent } from 'electron';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Backend } from '../server/backend';
import { exportChart } from '../server/export';
import { CSP } from '../server/http';
import { rendererDir } from '../server/renderer-dir';
import { defaultWorkspace, rememberWorkspace } from '../server/workspace';
import type { ApiEvent } from '../api/contract';

const ORIGIN = 'lmwb://app';
const here = dirname(fileURLToPath(import.meta.url));
const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml', '.png': 'image/png', '.json': 'application/json', '.woff2': 'font/woff2' };

protocol.registerSchemesAsPrivileged([{ scheme: 'lmwb', privileges: { standard: true, secure: true, supportFetchAPI: true } }]);
app.enableSandbox();

let win: BrowserWindow | undefined;
let backend: Backend | undefined;
let disconnect: (() => void) | undefined;
let client: ReturnType<Backend['connect']>['client'] | undefined;

function send(e: ApiEvent): void {
  if (win && !win.isDestroyed()) win.webContents.send('lmwb:event', e);
}

async function openWorkspace(dir: string): Promise<void> {
  disconnect?.();
  await backend?.close();
  rememberWorkspace(dir);
  backend = new Backend({ workspace: dir, host: 'electron', exportChart });
  const conn = backend.connect(send);
  client = conn.client;
  disconnect = conn.close;
  win?.setTitle(`LM Workbench — ${basename(dir)}`);
}

async function chooseWorkspace(): Promise<boolean> {
  const r = await dialog.showOpenDialog(win!, { title: 'Open workspace', properties: ['openDirectory', 'createDirectory'] });
  if (r.canceled || !r.filePaths[0]) return false;
  await openWorkspace(r.filePaths[0]);
  send({ type: 'workspace', info: backend!.info() });
  return true;
}

/** Only our own window's top frame, showing our own UI, may call the API. */
function trusted(e: IpcMainInvokeEvent): boolean {
  return !!win && e.sender === win.webContents && !!e.senderFrame && e.senderFrame === win.webContents.mainFrame && e.senderFrame.url.startsWith(`${ORIGIN}/`);
}

/** Paths the user picked in a save dialog for a checkpoint export: each lets one `checkpoints.export` write there. */
const pickedPaths = new Set<string>();

function registerIpc(): void {
  ipcMain.handle('lmwb:call', async (e, req: unknown) => {
    if (!trusted(e) || !backend) return { ok: false, error: { code: 'FORBIDDEN', message: 'untrusted sender' } };
    if (req && typeof req === 'object' && (req as { method?: unknown }).method === 'workspace.choose') {
      return { ok: true, result: (await chooseWorkspace()) ? backend.info() : null };
    }
    if (req && typeof req === 'object' && (req as { method?: unknown }).method === 'checkpoints.export') {
      // Outside the workspace only through a dialog the user answered: the destination must be one it returned.
      const dest = (req as { params?: { dest?: unknown } }).params?.dest;
      if (typeof dest !== 'string' || !pickedPaths.delete(dest)) return { ok: false, error: { code: 'FORBIDDEN', message: 'pick the destination in the save dialog' } };
    }
    if (req && typeof req === 'object' && (req as { method?: unknown }).method === 'datasets.chooseFile') {
      // The Datasets view's import: the user picks the text file in an open dialog (the path goes to datasets.prepare).
      const r = await dialog.showOpenDialog(win!, { title: 'Choose a text file', properties: ['openFile'], filters: [{ name: 'Text', extensions: ['txt', 'text'] }, { name: 'All files', extensions: ['*'] }] });
      return { ok: true, result: r.canceled ? null : (r.filePaths[0] ?? null) };
    }
    return backend.call(req);
  });
  ipcMain.handle('lmwb:choose-save-path', async (e, raw: unknown) => {
    if (!trusted(e)) return null;
    const { suggestedName } = (raw ?? {}) as { suggestedName?: unknown };
    if (typeof suggestedName !== 'string') return null;
    const r = await dialog.showSaveDialog(win!, { defaultPath: join(app.getPath('downloads'), basename(suggestedName)), filters: [{ name: 'safetensors', extensions: ['safetensors'] }] });
    if (r.canceled || !r.filePath) return null;
    pickedPaths.add(r.filePath);
    return r.filePath;
  });
  ipcMain.handle('lmwb:subscribe', (e, raw: unknown) => {
    if (!trusted(e) || !backend || !client) return { ok: false, error: { code: 'FORBIDDEN', message: 'untrusted sender' } };
    return backend.subscribe(client, raw);
  });
  ipcMain.handle('lmwb:save', async (e, raw: unknown) => {
    if (!trusted(e)) return null;
    const { suggestedName, base64 } = (raw ?? {}) as { suggestedName?: unknown; base64?: unknown };
    if (typeof suggestedName !== 'string' || typeof base64 !== 'string' || base64.length > 200 * 1024 * 1024) return null;
    // The user picks the destination in a save dialog: the only way the UI writes outside the workspace.
    const r = await dialog.showSaveDialog(win!, { defaultPath: join(app.getPath('downloads'), basename(suggestedName)) });
    if (r.canceled || !r.filePath) return null;
    writeFileSync(r.filePath, Buffer.from(base64, 'base64'));
    return r.filePath;
  });
}

function serveRenderer(): void {
  const root = rendererDir() ?? join(here, '..', 'renderer');
  protocol.handle('lmwb', (req) => {
    const url = new URL(req.url);
    if (url.host !== 'app') return new Response('not found', { status: 404 });
    const rel = decodeURIComponent(url.pathname) === '/' ? '/index.html' : decodeURIComponent(url.pathname);
    const file = normalize(join(root, rel));
    if (!file.startsWith(root + sep) || !existsSync(file)) return new Response('not found', { status: 404 });
    return new Response(readFileSync(file), {
      headers: { 'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream', 'Content-Security-Policy': CSP, 'X-Content-Type-Options': 'nosniff' },
    });
  });
}

function lockDown(): void {
  session.defaultSession.setPermissionRequestHandler((_wc, _perm, cb) => cb(false));
  app.on('web-contents-created', (_e, contents) => {
    contents.on('will-navigate', (ev, url) => {
      if (!url.startsWith(`${ORIGIN}/`)) ev.preventDefault();
    });
    contents.on('will-attach-webview', (ev) => ev.preventDefault());
    contents.setWindowOpenHandler(({ url }) => {
      // Links to the web open in the user's browser, never in the app.
      if (/^https:\/\//.test(url)) void shell.openExternal(url);
      return { action: 'deny' };
    });
  });
}

function buildMenu(): void {
  const isMac = process.platform === 'darwin';
  Menu.setApplicationMenu(
    Menu.buildFromTemplate([
      ...(isMac ? [{ role: 'appMenu' as const }] : []),
      {
        label: 'File',
        submenu: [
          { label: 'Open Workspace…', accelerator: 'CmdOrCtrl+O', click: () => void chooseWorkspace() },
          { type: 'separator' },
          isMac ? { role: 'close' as const } : { role: 'quit' as const },
        ],
      },
      { role: 'editMenu' },
      { role: 'viewMenu' },
      { role: 'windowMenu' },
    ]),
  );
}

async function createWindow(): Promise<void> {
  win = new BrowserWindow({
    width: 1400,
    height: 900,
    title: 'LM Workbench',
    show: false,
    webPreferences: {
      preload: join(here, '..', 'preload', 'index.cjs'),
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      webSecurity: true,
      spellcheck: false,
    },
  });
  win.once('ready-to-show', () => win?.show());
  win.on('closed', () => (win = undefined));
  await win.loadURL(`${ORIGIN}/index.html`);
}

void app.whenReady().then(async () => {
  lockDown();
  serveRenderer();
  registerIpc();
  buildMenu();
  await openWorkspace(defaultWorkspace(process.env.LMWB_WORKSPACE));
  await createWindow();
  app.on('activate', () => {
    if (!BrowserWindow.getAllWindows().length) void createWindow();
  });
});

app.on('window-all-closed', () => {
  if (process.platform !== 'darwin') app.quit();
});

let quitting = false;
app.on('before-quit', (e) => {
  if (quitting || !backend) return;
  // Let a running trainer save its checkpoint before we go.
  e.preventDefault();
  quitting = true;
  void backend.close().finally(() => app.quit());
});
