/**
 * The GPU adapter's limits for the backend, which never opens the GPU itself: a `lmwb device --json` child reads
 * them once (nothing is allocated) and the answer is kept for the backend's life.
 */
import { spawn } from 'node:child_process';
import type { DeviceProbe } from '../runs/validate';
import { lmwbBin } from './launcher';

export interface DeviceProbeResult {
  device: DeviceProbe | null;
  error: string | null;
}

/** Starts the probe on first use; later calls get the same answer. */
export class DeviceProber {
  private pending: Promise<DeviceProbeResult> | undefined;
  private done: DeviceProbeResult | undefined;
  private child: ReturnType<typeof spawn> | undefined;

  constructor(private readonly workspace: string, private readonly timeoutMs = 120_000) {}

  /** The answer if it is in, else null (and the probe is started). */
  now(): DeviceProbe | null {
    void this.get();
    return this.done?.device ?? null;
  }

  get(): Promise<DeviceProbeResult> {
    this.pending ??= new Promise<DeviceProbeResult>((resolve) => {
      const env = { ...process.env, ...(process.versions.electron ? { ELECTRON_RUN_AS_NODE: '1' } : {}) };
      const child = spawn(process.execPath, [lmwbBin(), 'device', '--json'], { cwd: this.workspace, env, stdio: ['ignore', 'pipe', 'pipe'] });
      this.child = child;
      let out = '';
      let err = '';
      child.stdout?.on('data', (b: Buffer) => (out += b.toString('utf8')));
      child.stderr?.on('data', (b: Buffer) => (err = (err + b.toString('utf8')).slice(-2000)));
      const timer = setTimeout(() => child.kill('SIGKILL'), this.timeoutMs);
      const finish = (r: DeviceProbeResult) => {
        clearTimeout(timer);
        this.child = undefined;
        this.done = r;
        resolve(r);
      };
      child.on('error', (e) => finish({ device: null, error: `cannot start lmwb device: ${e.message}` }));
      child.on('exit', (code, signal) => {
        const line = out.trim().split('\n').pop() ?? '';
        try {
          if (code === 0) return finish({ device: JSON.parse(line) as DeviceProbe, error: null });
        } catch {
          /* not JSON: reported below */
        }
        const last = err.trim().split('\n').filter((l) => l.trim() && !l.startsWith('Warning:')).pop();
        finish({ device: null, error: `lmwb device failed (${signal ?? `exit code ${code}`})${last ? `: ${last}` : ''}` });
      });
    });
    return this.pending;
  }

  close(): void {
    this.child?.kill('SIGKILL');
  }
}
