// Reads the events of `lmwb train --events ndjson` (a file, or - for stdin) and says how fast training ran between
// evaluations, checkpoints and diag records, and what each of those cost: the tokens/s of every log interval with
// none of them in it ("clean"; their median), and for each interval that has one, its wall time beyond what the
// clean median would have taken. Issue 16's "the real lmwb train within 2% of the bench" is this median against
// train-bench's tokens/s in the same call.
//   node dist/train-events.mjs EVENTS.ndjson [--from-step 40]
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { TrainEvent } from '../engine/train/events';
import type { TrainRecord } from '../runs/format';

export interface Interval { from: TrainRecord; to: TrainRecord; marks: string[] }

export interface IntervalReport {
  clean: number;
  median: number;
  min: number;
  max: number;
  /** Intervals with an eval, checkpoint or diag in them: what was in them and the seconds beyond the clean median's. */
  stalls: Array<{ fromStep: number; toStep: number; marks: string[]; seconds: number; extra: number }>;
}

/** The log intervals (from one train log record to the next) and the eval/checkpoint/diag events inside each. */
export function intervals(events: TrainEvent[]): Interval[] {
  const out: Interval[] = [];
  let prev: TrainRecord | undefined;
  let marks: string[] = [];
  for (const e of events) {
    if (e.type === 'log') {
      if (prev) out.push({ from: prev, to: e.record, marks });
      prev = e.record;
      marks = [];
    } else if (e.type === 'eval' || e.type === 'checkpoint' || e.type === 'diag') marks.push(e.type);
  }
  return out;
}

export function report(events: TrainEvent[], fromStep = 40): IntervalReport {
  const all = intervals(events);
  const rate = (x: Interval): number => (x.to.tokens - x.from.tokens) / (x.to.elapsed_s - x.from.elapsed_s);
  const rates = all.filter((x) => x.marks.length === 0 && x.from.step >= fromStep).map(rate).sort((a, b) => a - b);
  if (rates.length === 0) throw new Error(`train-events: no log interval from step ${fromStep} on without an eval, checkpoint or diag; log more often or lower --from-step`);
  const median = rates[Math.floor(rates.length / 2)];
  const stalls = all.filter((x) => x.marks.length > 0).map((x) => {
    const seconds = x.to.elapsed_s - x.from.elapsed_s;
    return { fromStep: x.from.step, toStep: x.to.step, marks: x.marks, seconds, extra: seconds - (x.to.tokens - x.from.tokens) / median };
  });
  return { clean: rates.length, median, min: rates[0], max: rates[rates.length - 1], stalls };
}

function main(): void {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { 'from-step': { type: 'string', default: '40' } } });
  if (positionals.length !== 1) throw new Error('usage: train-events EVENTS.ndjson [--from-step N]');
  const text = readFileSync(positionals[0] === '-' ? 0 : positionals[0], 'utf8');
  const events = text.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as TrainEvent);
  const r = report(events, Number(values['from-step']));
  const k = (x: number): string => `${(x / 1000).toFixed(1)}k`;
  process.stdout.write(`clean intervals: ${r.clean}, median ${k(r.median)} tokens/s (min ${k(r.min)}, max ${k(r.max)})\n`);
  for (const s of r.stalls) process.stdout.write(`steps ${s.fromStep}-${s.toStep} with ${s.marks.join('+')}: ${s.seconds.toFixed(3)} s, ${s.extra.toFixed(3)} s more than clean\n`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) main();
