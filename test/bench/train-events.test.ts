// train-events (the bench that reads `lmwb train --events ndjson`): clean log intervals, their median rate, and the
// extra seconds of the intervals with an eval, checkpoint or diag, on a made-up run whose answers are known.
import { describe, expect, it } from 'vitest';
import { intervals, report } from '../../src-main/bench/train-events';
import type { TrainEvent } from '../../src-main/engine/train/events';

const log = (step: number, elapsed: number): TrainEvent => ({
  type: 'log', eta_s: 0,
  record: { kind: 'train', step, tokens: step * 1000, elapsed_s: elapsed, time: '2026-12-02T00:00:00.000Z', loss: 1, lr: 1e-3, grad_norm: 1, tokens_per_s: 0 },
});

describe('train-events', () => {
  // 10 steps of 1000 tokens per second (10k tokens/s), except steps 20→30 (an eval and a checkpoint: 2 s more)
  // and 40→50 (a diag: 0.5 s more); the first interval (warm-up) is slow and below --from-step.
  const events: TrainEvent[] = [
    log(0, 0), log(10, 3),
    log(20, 4),
    { type: 'eval', record: { kind: 'eval', step: 20, tokens: 20000, elapsed_s: 4.1, time: '2026-12-02T00:00:00.000Z', val_loss: 2, val_ppl: 7.4, val_tokens: 100 } },
    { type: 'checkpoint', path: 'x', step: 20, bytes: 1 },
    log(30, 7), log(40, 8),
    { type: 'diag', record: { kind: 'diag', step: 40 } as never },
    log(50, 9.5), log(60, 10.5),
  ];

  it('cuts the run into log intervals with what happened inside', () => {
    expect(intervals(events).map((x) => [x.from.step, x.to.step, x.marks])).toEqual([
      [0, 10, []], [10, 20, []], [20, 30, ['eval', 'checkpoint']], [30, 40, []], [40, 50, ['diag']], [50, 60, []],
    ]);
  });

  it('gives the clean median and each stall beyond it', () => {
    const r = report(events, 10);
    expect(r.clean).toBe(3);
    expect(r.median).toBeCloseTo(10000, 6);
    expect(r.stalls.map((s) => [s.fromStep, s.marks.join('+'), Number(s.extra.toFixed(6))])).toEqual([[20, 'eval+checkpoint', 2], [40, 'diag', 0.5]]);
    // Counting the slow warm-up interval moves the minimum, not the median.
    expect(report(events, 0).min).toBeCloseTo(10000 / 3, 6);
  });

  it('says what to do when no interval is clean', () => {
    expect(() => report(events.slice(0, 5), 20)).toThrow(/no log interval from step 20 on without an eval, checkpoint or diag/);
  });
});
