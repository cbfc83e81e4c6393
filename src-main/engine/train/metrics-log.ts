// metrics.jsonl writer (record formats: runs/format.ts). Lines are buffered and flushed at intervals and at
// every checkpoint, so a crash loses at most the lines since the last flush and never a line a checkpoint
// covers. Before a run (re)starts, `prepare(step)` makes the file agree with the checkpoint it resumes from: a
// torn last line (a crash mid-write) is cut, and lines past the resumed step are dropped (TensorBoard's
// purge-step rule), so the curves have no duplicates and no gap. Non-finite numbers are written as null.
import { appendFileSync, existsSync, openSync, fsyncSync, closeSync } from 'node:fs';
import { writeFileAtomic } from '../../util/atomic-write';
import { readJsonl } from '../../runs/read';
import { MetricRecordSchema, type MetricRecord } from '../../runs/format';

export type { MetricRecord } from '../../runs/format';

/** JSON of a record with NaN/±Infinity as null (JSON has neither). */
export function recordLine(r: MetricRecord): string {
  return `${JSON.stringify(r, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v))}\n`;
}

export interface PrepareResult {
  /** Records kept (all at or before the resumed step). */
  kept: number;
  /** Records dropped because they were past the resumed step. */
  dropped: number;
  /** A torn last line was cut. */
  tornTail: boolean;
  /** Lines that did not parse (or failed their schema) and were dropped. */
  skipped: number;
}

export class MetricsLog {
  private pending: string[] = [];
  private lastFlush = Date.now();

  /** `flushMs`: the longest a line waits in memory before it is written. */
  constructor(
    readonly path: string,
    readonly flushMs = 5_000,
  ) {}

  /** Makes the file hold only complete lines with step ≤ `step` (−1: empty, a run from scratch). */
  prepare(step: number): PrepareResult {
    if (!existsSync(this.path)) return { kept: 0, dropped: 0, tornTail: false, skipped: 0 };
    const read = readJsonl(this.path, MetricRecordSchema);
    const kept = step < 0 ? [] : read.records.filter((r) => r.step <= step);
    const res = { kept: kept.length, dropped: read.records.length - kept.length, tornTail: read.tornTail, skipped: read.skipped };
    if (res.dropped || res.tornTail || res.skipped || step < 0) writeFileAtomic(this.path, kept.map(recordLine).join(''));
    return res;
  }

  append(r: MetricRecord): void {
    this.pending.push(recordLine(r));
    if (Date.now() - this.lastFlush >= this.flushMs) this.flush();
  }

  /** Writes buffered lines; `durable` also fsyncs (before a checkpoint that covers them). */
  flush(durable = false): void {
    if (this.pending.length) {
      appendFileSync(this.path, this.pending.join(''));
      this.pending = [];
    }
    this.lastFlush = Date.now();
    if (durable && existsSync(this.path)) {
      const fd = openSync(this.path, 'r+');
      try {
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
    }
  }

  /** Every record of a run folder's metrics.jsonl (tolerant: a torn last line is ignored). */
  static read(path: string): MetricRecord[] {
    return readJsonl(path, MetricRecordSchema).records;
  }
}
