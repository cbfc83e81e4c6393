/**
 * Tolerant tail reading of a run's metrics.jsonl: reads only the bytes appended since the last offset, keeps a
 * torn last line (a writer mid-line) for the next read, skips lines that fail the schema, and notices a file that
 * was rewritten shorter (a run restarted from scratch) so readers can start over. Non-finite numbers stay null
 * (JSON has no NaN), as they are on disk.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { MetricRecordSchema, type MetricRecord } from '../runs/format';

export interface TailRead {
  from: number;
  offset: number;
  records: MetricRecord[];
  reset: boolean;
}

/** Reads complete lines of `path` from byte `from`; a missing file reads as empty. */
export function readMetricsFrom(path: string, from: number, maxBytes = 256 * 1024 * 1024): TailRead {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return { from: 0, offset: 0, records: [], reset: from > 0 };
  }
  try {
    const size = fstatSync(fd).size;
    let reset = false;
    if (size < from) {
      reset = true;
      from = 0;
    }
    const len = Math.min(size - from, maxBytes);
    if (len <= 0) return { from, offset: from, records: [], reset };
    const buf = Buffer.allocUnsafe(len);
    let got = 0;
    while (got < len) {
      const n = readSync(fd, buf, got, len - got, from + got);
      if (n === 0) break;
      got += n;
    }
    const end = buf.subarray(0, got).lastIndexOf(0x0a) + 1;
    return { from, offset: from + end, records: parseLines(buf.subarray(0, end).toString('utf8')), reset };
  } finally {
    closeSync(fd);
  }
}

function parseLines(text: string): MetricRecord[] {
  const out: MetricRecord[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      const r = MetricRecordSchema.safeParse(JSON.parse(line));
      if (r.success) out.push(r.data);
    } catch {
      /* a bad line is skipped, as readMetrics does */
    }
  }
  return out;
}

/** Running figures of a metrics file for the Runs table, updated incrementally as lines arrive. */
export class MetricsStats {
  offset = 0;
  bestValLoss: number | null = null;
  lastStep: number | null = null;
  tokensPerS: number | null = null;
  elapsedS: number | null = null;
  finalLoss: number | null = null;

  constructor(readonly path: string) {}

  /** Reads what was appended; returns the new records (and whether the file was rewritten). */
  update(): TailRead {
    const r = readMetricsFrom(this.path, this.offset);
    if (r.reset) this.clear();
    for (const rec of r.records) this.add(rec);
    this.offset = r.offset;
    return r;
  }

  private clear(): void {
    this.bestValLoss = this.lastStep = this.tokensPerS = this.elapsedS = this.finalLoss = null;
  }

  private add(rec: MetricRecord): void {
    this.lastStep = Math.max(this.lastStep ?? 0, rec.step);
    this.elapsedS = rec.elapsed_s;
    if (rec.kind === 'train') {
      this.tokensPerS = rec.tokens_per_s;
      this.finalLoss = rec.loss;
    } else if (rec.kind === 'eval' && rec.val_loss !== null && Number.isFinite(rec.val_loss)) {
      this.bestValLoss = this.bestValLoss === null ? rec.val_loss : Math.min(this.bestValLoss, rec.val_loss);
    }
  }
}
