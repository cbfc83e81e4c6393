// metrics.jsonl: one JSON object per line ({kind: "train" | "eval", step, ...}), appended as training goes, so
// any tool (the app, pandas, jq) can follow a run while it trains. On resume, lines past the resumed step
// (from the interrupted tail of the run) are dropped first so the curve has no duplicates.
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { writeFileAtomic } from '../../util/atomic-write';

export interface TrainRecord {
  kind: 'train';
  step: number;
  loss: number;
  lr: number;
  grad_norm: number;
  tokens: number;
  tokens_per_s: number;
  elapsed_s: number;
  time: string;
  /** Mixed precision only: the loss scale after this step, and whether the step was skipped (overflow). */
  loss_scale?: number;
  skipped?: boolean;
}

export interface EvalRecord {
  kind: 'eval';
  step: number;
  val_loss: number;
  val_tokens: number;
  tokens: number;
  elapsed_s: number;
  time: string;
}

export type MetricRecord = TrainRecord | EvalRecord;

export class MetricsLog {
  constructor(readonly path: string) {}

  truncateAfter(step: number): void {
    if (!existsSync(this.path)) return;
    const kept = readFileSync(this.path, 'utf8')
      .split('\n')
      .filter((l) => l.trim() && (JSON.parse(l) as MetricRecord).step <= step);
    writeFileAtomic(this.path, kept.map((l) => `${l}\n`).join(''));
  }

  append(r: MetricRecord): void {
    appendFileSync(this.path, `${JSON.stringify(r)}\n`);
  }

  static read(path: string): MetricRecord[] {
    if (!existsSync(path)) return [];
    return readFileSync(path, 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as MetricRecord);
  }
}
