// The handout's debugging signals (a diag record every `log.diag_interval` steps): RMS of the residual stream
// entering each layer and after the last, and L2 norms of weights and gradients per parameter group. Read on the
// host from the flat buffers (only every N steps, so the download cost does not matter).
import type { TransformerRuntime } from '../model/transformer';
import type { ParamLayout } from '../model/parameters';
import type { DiagRecord } from '../../runs/format';

/** The parameter group of a tensor: token_embeddings, layers.N.attn, layers.N.ffn, layers.N.norms, ln_final, lm_head. */
export function parameterGroup(name: string): string {
  const m = /^layers\.(\d+)\.(attn|ffn|ln1|ln2)\./.exec(name);
  if (m) return `layers.${m[1]}.${m[2] === 'ln1' || m[2] === 'ln2' ? 'norms' : m[2]}`;
  return name.replace(/\.weight$/, '');
}

/** L2 norm per group of a flat buffer in `layout` (accumulated in f64), each value divided by `scale`. */
export function groupNorms(layout: ParamLayout, flat: Float32Array, scale = 1): Record<string, number> {
  const sums = new Map<string, number>();
  for (const s of layout.slots) {
    let acc = 0;
    for (let i = s.offset, end = s.offset + s.numel; i < end; i++) acc += flat[i] * flat[i];
    const g = parameterGroup(s.name);
    sums.set(g, (sums.get(g) ?? 0) + acc);
  }
  const out: Record<string, number> = {};
  for (const [g, v] of sums) out[g] = Math.sqrt(v) / scale;
  return out;
}

/** The residual stream entering layer `layer` (num_layers: after the last) of the last forward, [batch·seq, d]. */
export async function readResidualStream(rt: TransformerRuntime, layer: number): Promise<Float32Array> {
  return rt.readResidual(layer);
}

export function rms(x: Float32Array): number {
  let acc = 0;
  for (let i = 0; i < x.length; i++) acc += x[i] * x[i];
  return Math.sqrt(acc / Math.max(1, x.length));
}

/** A diag record of the runtime's state after a step (call before the next step is queued). */
export async function diagRecord(rt: TransformerRuntime, axes: Pick<DiagRecord, 'step' | 'tokens' | 'elapsed_s' | 'time'>, lossScale: number): Promise<DiagRecord> {
  // Every readback is queued before the first wait: one wait for the queue instead of one per buffer.
  const streams = Array.from({ length: rt.cfg.num_layers + 1 }, (_, l) => readResidualStream(rt, l));
  const [params, grads] = [rt.readFlat('params'), rt.readFlat('grads')];
  for (const r of [...streams, params, grads]) r.catch(() => undefined); // each is awaited below, in order
  const residual_rms: number[] = [];
  for (const x of streams) residual_rms.push(rms(await x));
  const weight_norm = groupNorms(rt.layout, await params);
  // In mixed precision the gradients are stored multiplied by the loss scale.
  const grad_norm = groupNorms(rt.layout, await grads, lossScale);
  return { kind: 'diag', ...axes, residual_rms, weight_norm, grad_norm };
}
