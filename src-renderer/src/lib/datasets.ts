/**
 * Pure helpers of the Datasets view: byte and token amounts, a dataset name suggested from the file and the
 * tokenizer, the special-token list as the user types it, what a preparation step is called, and how far along a
 * job is. No DOM, no API: unit-testable.
 */
import type { DatasetJob, TokenizerChoice } from '../../../src-main/api/areas/datasets';

export function fmtBytes(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '—';
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let v = n;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${v.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}

/** 1234567 → "1.23M" (tokens), small counts in full. */
export function fmtCount(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '—';
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)}B`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (n >= 1e4) return `${(n / 1e3).toFixed(1)}k`;
  return n.toLocaleString('en-US');
}

/** An amount in a progress unit: bytes as KB/MB, others as counts with the unit. */
export function fmtAmount(n: number, unit: string): string {
  return unit === 'bytes' ? fmtBytes(n) : `${fmtCount(n)} ${unit}`;
}

export function fmtRateUnit(rate: number | null, unit: string): string {
  if (rate === null || !Number.isFinite(rate)) return '—';
  return unit === 'bytes' ? `${fmtBytes(rate)}/s` : `${fmtCount(Math.round(rate))} ${unit}/s`;
}

export function fmtEta(s: number | null): string {
  if (s === null || !Number.isFinite(s)) return '—';
  if (s < 1) return '<1s';
  if (s < 60) return `${Math.round(s)}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(Math.round(s % 60)).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** Special tokens as typed: separated by spaces, commas or new lines; duplicates dropped, order kept. */
export function parseSpecials(text: string): string[] {
  return [...new Set(text.split(/[\s,]+/).filter(Boolean))];
}

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** Why a dataset name is not usable (null: fine). The backend checks again. */
export function nameProblem(name: string, taken: readonly string[]): string | null {
  if (!name.trim()) return 'give the dataset a name';
  if (name.length > 100) return 'at most 100 characters';
  if (!NAME_RE.test(name)) return 'letters, digits and . _ - only, starting with a letter or digit';
  if (taken.includes(name)) return 'a dataset with this name exists';
  return null;
}

/** The name `lmwb dataset prepare` would give: the file's stem without a split suffix, plus the tokenizer. */
export function suggestName(trainPath: string, t: TokenizerChoice, vocabOf: (dataset: string) => number | undefined = () => undefined): string {
  const file = trainPath.replace(/\\/g, '/').split('/').pop() ?? '';
  const stem = file.replace(/\.(txt|text)$/i, '').replace(/[-_.]?train$/i, '').replace(/[^A-Za-z0-9._-]/g, '_').replace(/^[._-]+/, '') || 'dataset';
  if (t.kind === 'bytes') return `${stem}-bytes`;
  if (t.kind === 'train') return `${stem}-bpe${t.vocabSize}`;
  const v = vocabOf(t.name);
  return v ? `${stem}-bpe${v}` : `${stem}-${t.name}`;
}

/** What a preparation step is, in words. */
export function phaseLabel(task: string): string {
  const m = /^(hash|encode) (\w+)$/.exec(task);
  if (m) return m[1] === 'hash' ? `Read ${m[2]} text (sha256)` : `Encode ${m[2]}.bin`;
  if (task === 'tokenizer') return 'Tokenizer';
  if (task === 'split') return 'Hold out validation text';
  return task;
}

/** The progress event's step, in words ("count" while training the tokenizer is "Count pre-tokens"). */
export function progressLabel(p: NonNullable<DatasetJob['progress']>): string {
  switch (p.task) {
    case 'hash':
      return `Hashing ${p.detail ?? ''}`.trim();
    case 'count':
      return 'Tokenizer: counting pre-tokens';
    case 'merge':
      return 'Tokenizer: learning merges';
    case 'encode':
      return `Encoding ${p.detail ?? ''}`.trim();
    case 'split':
      return 'Holding out the validation text';
    default:
      return p.detail ? `${p.task} ${p.detail}` : p.task;
  }
}

/** 0..1 for the running step, or null when its total is unknown. */
export function progressFraction(p: DatasetJob['progress']): number | null {
  if (!p || p.total === undefined || p.total <= 0) return null;
  return Math.max(0, Math.min(1, p.done / p.total));
}

export function isActive(j: DatasetJob): boolean {
  return j.state === 'running' || j.state === 'cancelling';
}
