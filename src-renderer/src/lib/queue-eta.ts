/**
 * The queue panel's figures, pure: a run's progress fraction and its ETA. ETA = remaining tokens / the current
 * tokens/s, where remaining tokens = (total steps − step) × tokens per step (batch × context); a run with a training
 * time budget also stops when its budget is spent, so its ETA is the smaller of the two. No measurement yet (no
 * tokens/s) → null, shown as "—".
 */

export interface EtaInput {
  step: number | null;
  totalSteps: number | null;
  tokensPerS: number | null;
  tokensPerStep: number | null;
  elapsedS?: number | null;
  timeBudgetS?: number | null;
}

/** Fraction done in [0, 1], or null when the total is unknown. */
export function progressOf(r: Pick<EtaInput, 'step' | 'totalSteps'>): number | null {
  if (!r.totalSteps || r.totalSteps <= 0) return null;
  return Math.min(1, Math.max(0, (r.step ?? 0) / r.totalSteps));
}

/** Seconds until the run finishes at its current speed, or null before the first measurement. */
export function etaSeconds(r: EtaInput): number | null {
  if (!r.tokensPerS || !(r.tokensPerS > 0) || !r.totalSteps || !r.tokensPerStep) return null;
  const remainingTokens = Math.max(0, r.totalSteps - (r.step ?? 0)) * r.tokensPerStep;
  let eta = remainingTokens / r.tokensPerS;
  if (r.timeBudgetS && r.elapsedS !== null && r.elapsedS !== undefined) eta = Math.min(eta, Math.max(0, r.timeBudgetS - r.elapsedS));
  return eta;
}

/** "—" before the first measurement; else 42s, 3m 05s, 2h 10m. */
export function fmtEta(s: number | null): string {
  if (s === null || !Number.isFinite(s)) return '—';
  if (s < 60) return `${Math.ceil(s)}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(Math.floor(s % 60)).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}
