// Progress reporting for long CLI work: a bar with rate and ETA on a terminal, plain periodic lines otherwise
// (CI logs, pipes, Slurm output files), so that logs stay readable. createEventRenderer draws the engine's events.
import cliProgress from 'cli-progress';
import type { DataEvent, ProgressEvent } from '../engine/events';

export interface ProgressOptions {
  /** What is counted, shown after the rate: "B" formats as bytes (KB/MB/GB), anything else as a plain unit. */
  unit: string;
  label: string;
  total: number;
  /** Minimum milliseconds between plain-text lines when stderr is not a terminal. */
  plainIntervalMs?: number;
}

export interface Progress {
  update(done: number, extra?: string): void;
  stop(finalLine?: string): void;
}

export function formatAmount(value: number, unit: string): string {
  if (unit !== 'B') return `${value.toLocaleString('en-US', { maximumFractionDigits: 1 })} ${unit}`;
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let v = value;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) { v /= 1000; i++; }
  return `${v.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '--';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : m > 0 ? `${m}m${String(sec).padStart(2, '0')}s` : `${sec}s`;
}

export function createProgress(opts: ProgressOptions): Progress {
  const start = performance.now();
  const rateOf = (done: number) => done / Math.max(1e-9, (performance.now() - start) / 1000);
  const describe = (done: number) => {
    const rate = rateOf(done);
    const eta = rate > 0 ? (opts.total - done) / rate : Infinity;
    return { rate: `${formatAmount(rate, opts.unit)}/s`, eta: formatDuration(eta) };
  };
  if (process.stderr.isTTY) {
    const bar = new cliProgress.SingleBar(
      {
        format: `${opts.label} [{bar}] {percentage}% | {amount} | {rate} | ETA {etaText} {extra}`,
        hideCursor: true,
        stream: process.stderr,
        fps: 10,
      },
      cliProgress.Presets.shades_classic,
    );
    bar.start(opts.total, 0, { amount: '', rate: '', etaText: '', extra: '' });
    return {
      update(done, extra = '') {
        const d = describe(done);
        bar.update(done, { amount: `${formatAmount(done, opts.unit)}/${formatAmount(opts.total, opts.unit)}`, rate: d.rate, etaText: d.eta, extra });
      },
      stop(finalLine) {
        bar.stop();
        if (finalLine) process.stderr.write(`${finalLine}\n`);
      },
    };
  }
  const interval = opts.plainIntervalMs ?? 5000;
  let last = -Infinity;
  return {
    update(done, extra = '') {
      const now = performance.now();
      if (now - last < interval && done < opts.total) return;
      last = now;
      const d = describe(done);
      const pct = opts.total > 0 ? ((100 * done) / opts.total).toFixed(1) : '100.0';
      process.stderr.write(`${opts.label} ${pct}% ${formatAmount(done, opts.unit)}/${formatAmount(opts.total, opts.unit)} ${d.rate} ETA ${d.eta} ${extra}\n`);
    },
    stop(finalLine) {
      if (finalLine) process.stderr.write(`${finalLine}\n`);
    },
  };
}

/** Renders the engine's events (ProgressEvent, WarningEvent, PhaseEvent) on stderr: one bar per task at a time. */
export interface EventRenderer {
  onEvent(e: DataEvent): void;
  /** Stops the current bar (call when the operation ends, however it ends). */
  stop(): void;
}

const UNIT_LABEL: Record<ProgressEvent['unit'], string> = { bytes: 'B', tokens: 'tokens', steps: 'steps', merges: 'merges', files: 'files', items: 'items' };

export function createEventRenderer(opts: { quiet?: boolean; plainIntervalMs?: number } = {}): EventRenderer {
  let bar: Progress | undefined;
  let key = '';
  const stop = () => { bar?.stop(); bar = undefined; key = ''; };
  return {
    onEvent(e) {
      if (opts.quiet && e.type !== 'warning') return;
      if (e.type === 'progress') {
        const k = `${e.task}\u0000${e.detail ?? ''}\u0000${e.total ?? ''}`;
        if (k !== key) {
          stop();
          key = k;
          bar = createProgress({ label: e.detail ? `${e.task} ${e.detail}` : e.task, unit: UNIT_LABEL[e.unit], total: e.total ?? 0, plainIntervalMs: opts.plainIntervalMs });
        }
        const extra = e.extra ? Object.entries(e.extra).map(([name, v]) => formatAmount(v, name)).join(' ') : '';
        bar?.update(e.done, extra);
        return;
      }
      stop();
      if (e.type === 'warning') { process.stderr.write(`note: ${e.message}\n`); return; }
      if (e.status === 'start') return;
      process.stderr.write(`${e.task}: ${e.status === 'reused' ? 'up to date, reused' : 'done'}${e.detail ? ` (${e.detail})` : ''}\n`);
    },
    stop,
  };
}
