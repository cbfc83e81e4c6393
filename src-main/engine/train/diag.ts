// The handout's debugging signals (a diag record every `log.diag_interval` steps): RMS of the residual stream
// entering each layer and after the last, and L2 norms of weights and gradients per parameter group, summed on the
// host (f64) from a GPU snapshot read back in pieces while training goes on.
import type { TransformerRuntime } from '../model/transformer';
import type { ParamLayout } from '../model/parameters';
import type { DiagRecord } from '../../runs/format';
import { GpuSnapshot } from '../gpu/snapshot';
import { numel } from '../gpu/tensor';

/** The parameter group of a tensor: token_embeddings, layers.N.attn, layers.N.ffn, layers.N.norms, ln_final, lm_head. */
export function parameterGroup(name: string): string {
  const m = /^layers\.(\d+)\.(attn|ffn|ln1|ln2)\./.exec(name);
  if (m) return `layers.${m[1]}.${m[2] === 'ln1' || m[2] === 'ln2' ? 'norms' : m[2]}`;
  return name.replace(/\.weight$/, '');
}

/** L2 norm per group of a flat buffer in `layout` (accumulated in f64), each value divided by `scale`. */
export function groupNorms(layout: ParamLayout, flat: Float32Array, scale = 1): Record<string, number> {
  const slotSums = new Float64Array(layout.slots.length);
  addSlotSquares(layout, slotSums, 0, flat);
  return normsOfSums(layout, slotSums, scale);
}

/** Adds Σ v² of each slot's part of `v` (elements start .. start + v.length of a flat buffer) to slotSums, in f64. */
function addSlotSquares(layout: ParamLayout, slotSums: Float64Array, start: number, v: Float32Array): void {
  const end = start + v.length;
  layout.slots.forEach((s, k) => {
    let acc = slotSums[k];
    for (let i = Math.max(s.offset, start), e = Math.min(s.offset + s.numel, end); i < e; i++) acc += v[i - start] * v[i - start];
    slotSums[k] = acc;
  });
}

/** Group norms from per-slot sums of squares, added per group in slot order. */
function normsOfSums(layout: ParamLayout, slotSums: Float64Array, scale = 1): Record<string, number> {
  const sums = new Map<string, number>();
  layout.slots.forEach((s, k) => {
    const g = parameterGroup(s.name);
    sums.set(g, (sums.get(g) ?? 0) + slotSums[k]);
  });
  const out: Record<string, number> = {};
  for (const [g, v] of sums) out[g] = Math.sqrt(v) / scale;
  return out;
}

/**
 * Starts a diag record of the runtime's state after a step: call before the next step is queued. The residual
 * streams, parameters and gradients are snapshotted on the GPU at once and read back piece by piece while training
 * goes on (gpu/snapshot.ts); the promise resolves with the record when the last piece is in. The sums are the same
 * f64 sums in the same order as over whole readbacks (groupNorms; the residual RMS likewise).
 */
export function diagRecord(rt: TransformerRuntime, axes: Pick<DiagRecord, 'step' | 'tokens' | 'elapsed_s' | 'time'>, lossScale: number): Promise<DiagRecord> {
  const L = rt.cfg.num_layers;
  const streams = Array.from({ length: L + 1 }, (_, l) => rt.plan.x[l]);
  const snap = GpuSnapshot.take(rt.gpu.device, [...streams, rt.flat('params'), rt.flat('grads')], `diag ${axes.step}`);
  const streamSums = new Float64Array(L + 1);
  const slotSums = [new Float64Array(rt.layout.slots.length), new Float64Array(rt.layout.slots.length)];
  const onPiece = (source: number, start: number, v: Float32Array): void => {
    if (source <= L) {
      let acc = streamSums[source];
      for (let i = 0; i < v.length; i++) acc += v[i] * v[i];
      streamSums[source] = acc;
      return;
    }
    addSlotSquares(rt.layout, slotSums[source - L - 1], start, v);
  };
  return snap.read(onPiece, false).then(() => {
    const residual_rms = streams.map((x, l) => Math.sqrt(streamSums[l] / Math.max(1, numel(x.shape))));
    const weight_norm = normsOfSums(rt.layout, slotSums[0]);
    // In mixed precision the gradients are stored multiplied by the loss scale.
    const grad_norm = normsOfSums(rt.layout, slotSums[1], lossScale);
    return { kind: 'diag', ...axes, residual_rms, weight_norm, grad_norm };
  });
}
