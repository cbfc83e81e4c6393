// The divergence rule (config `divergence`, defaults in run-config.ts): a NaN/±Infinity loss at a logged step (or
// a non-finite gradient norm on a step that was not skipped by the loss scaler: the weights are then poisoned), or
// a loss above `factor` × the running minimum for `patience` consecutive logged steps, ends the run as diverged.
export interface DivergenceRule {
  enabled: boolean;
  factor: number;
  patience: number;
}

export interface DivergenceVerdict {
  reason: 'non-finite' | 'above-minimum';
  message: string;
  data: Record<string, unknown>;
}

export class DivergenceMonitor {
  private min = Infinity;
  private above = 0;

  constructor(readonly rule: DivergenceRule) {}

  /** Seeds the running minimum (on resume, from the losses already logged). */
  seed(losses: number[]): void {
    for (const l of losses) if (Number.isFinite(l)) this.min = Math.min(this.min, l);
  }

  /** Feeds one logged loss; returns a verdict when the run has diverged. */
  observe(step: number, loss: number, lr: number, gradNorm = 0, skipped = false): DivergenceVerdict | undefined {
    if (!Number.isFinite(gradNorm) && !skipped) {
      return {
        reason: 'non-finite',
        message: `training diverged: the gradient norm is ${gradNorm} at step ${step} (loss ${loss}, learning rate ${lr.toExponential(2)}); lower training.max_learning_rate or raise training.warmup_iters`,
        data: { step, loss: String(loss), grad_norm: String(gradNorm), lr, reason: 'non-finite' },
      };
    }
    if (!Number.isFinite(loss)) {
      // Always on: a NaN never recovers (the optimizer state is poisoned).
      return {
        reason: 'non-finite',
        message: `training diverged: the loss is ${loss} at step ${step} (learning rate ${lr.toExponential(2)}); lower training.max_learning_rate or raise training.warmup_iters`,
        data: { step, loss: String(loss), lr, reason: 'non-finite' },
      };
    }
    if (!this.rule.enabled) return undefined;
    if (loss > this.rule.factor * this.min) this.above++;
    else this.above = 0;
    this.min = Math.min(this.min, loss);
    if (this.above >= this.rule.patience) {
      return {
        reason: 'above-minimum',
        message: `training diverged: the loss stayed above ${this.rule.factor} × its minimum (${this.min.toFixed(4)}) for ${this.rule.patience} logged steps, ${loss.toFixed(4)} at step ${step} (learning rate ${lr.toExponential(2)}); lower training.max_learning_rate, or loosen divergence.factor / divergence.patience`,
        data: { step, loss, min_loss: this.min, lr, factor: this.rule.factor, patience: this.rule.patience, reason: 'above-minimum' },
      };
    }
    return undefined;
  }
}
