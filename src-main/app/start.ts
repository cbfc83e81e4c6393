/**
 * `npm start`: builds the app where the build is missing or older than its sources, then launches the desktop
 * app. Where Electron's binary is missing (its download failed or was skipped, as on CI) or there is no display,
 * it says so in one line and starts the same UI through `lmwb serve`, which prints its URL.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { electronBinary } from './electron-binary';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

function newest(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) t = Math.max(t, newest(p));
    else t = Math.max(t, statSync(p).mtimeMs);
  }
  return t;
}

function needsBuild(): boolean {
  const outs = ['out/main/index.js', 'out/preload/index.cjs', 'out/renderer/index.html'].map((p) => join(root, p));
  if (!outs.every(existsSync)) return true;
  const built = Math.min(...outs.map((p) => statSync(p).mtimeMs));
  const src = Math.max(newest(join(root, 'src-renderer')), newest(join(root, 'src-main', 'app')), newest(join(root, 'src-main', 'api')), newest(join(root, 'src-main', 'server')), statSync(join(root, 'electron.vite.config.ts')).mtimeMs);
  return src > built;
}

if (needsBuild()) {
  process.stderr.write('building the app (electron-vite)…\n');
  const r = spawnSync(process.execPath, [join(root, 'node_modules', 'electron-vite', 'bin', 'electron-vite.js'), 'build'], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

const bin = electronBinary();
const headless = process.platform === 'linux' && !process.env.DISPLAY && !process.env.WAYLAND_DISPLAY;
const args = process.argv.slice(2);
if (bin.path && !headless) {
  const child = spawn(bin.path, [join(root, 'out', 'main', 'index.js'), ...args], { cwd: root, stdio: 'inherit' });
  child.on('exit', (code) => process.exit(code ?? 0));
} else {
  process.stderr.write(`${bin.why ?? 'no display for a desktop window'}: starting the same UI with \`lmwb serve\` — open the URL below in a browser\n`);
  const child = spawn(process.execPath, [join(root, 'bin', 'lmwb.mjs'), 'serve', ...args], { cwd: root, stdio: 'inherit' });
  const fwd = (sig: NodeJS.Signals) => child.kill(sig);
  process.on('SIGINT', fwd);
  process.on('SIGTERM', fwd);
  child.on('exit', (code) => process.exit(code ?? 0));
}
