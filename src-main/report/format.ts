/** Number, duration and value formatting for the experiment log (pure). */
import { formatValue } from '../charts/options';

export function fmtLoss(v: number | undefined): string {
  return v === undefined || !Number.isFinite(v) ? '—' : v.toFixed(4);
}

export function fmtDuration(s: number | undefined): string {
  if (s === undefined || !Number.isFinite(s)) return '—';
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${String(Math.round(s - 60 * m)).padStart(2, '0')} s`;
  return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, '0')} min`;
}

export function fmtInt(v: number | undefined): string {
  return v === undefined || !Number.isFinite(v) ? '—' : Math.round(v).toLocaleString('en-US');
}

/** A config value in a table cell; undefined: the run lacks the key. */
export function fmtConfig(v: unknown): string {
  if (v === undefined) return '(absent)';
  return formatValue(v);
}
