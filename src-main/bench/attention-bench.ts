// Attention kernel benchmark: forward and backward time of the causal attention kernels at the CS336 shape
// (batch 128, 16 heads, T 256, head dim 32 by default) for several tile sizes, each checked against the default
// tiles' results.   npx tsx src-main/bench/attention-bench.ts [--batch 128 --heads 16 --seq 256 --dk 32]
import { parseArgs } from 'node:util';
import { openGpu } from '../engine/gpu/device';
import { Program } from '../engine/gpu/program';
import { createTensor, upload, download } from '../engine/gpu/tensor';
import { attentionForward, attentionBackward, projectionLayout, setAttentionTilesForBench, attentionTiles, type AttentionTiles } from '../engine/kernels/attention';
import { rngFor, normal } from '../engine/rng';

const { values: a } = parseArgs({ options: { batch: { type: 'string', default: '128' }, heads: { type: 'string', default: '16' }, seq: { type: 'string', default: '256' }, dk: { type: 'string', default: '32' }, reps: { type: 'string', default: '10' } } });
const [B, H, T, dk, reps] = [a.batch, a.heads, a.seq, a.dk, a.reps].map(Number);
const gpu = await openGpu();
const d = gpu.device;
const s = projectionLayout(B, T, H, dk);
const n = B * T * H * dk;
const rng = rngFor(1, 7);
const mk = (label: string, fill: boolean) => {
  const t = createTensor(d, [n], label);
  if (fill) upload(d, t, Float32Array.from({ length: n }, () => normal(rng)));
  return t;
};
const [q, k, v, dout] = ['q', 'k', 'v', 'dout'].map((l) => mk(l, true));
const out = mk('out', false);
const lse = createTensor(d, [B * H * T], 'lse');
const g = { dq: mk('dq', false), dk: mk('dk', false), dv: mk('dv', false), dsum: createTensor(d, [B * H * T], 'dsum') };
const flops = 2 * 2 * B * H * (T * (T + 1)) / 2 * dk; // QKᵀ and PV over the causal half

async function time(p: Program): Promise<number> {
  p.submit();
  await gpu.sync();
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) p.submit();
  await gpu.sync();
  return (performance.now() - t0) / reps;
}

let refOut: Float32Array | undefined;
let refDq: Float32Array | undefined;
const configs: Array<AttentionTiles | undefined> = [undefined, { BQ: 32, BK: 32 }, { BQ: 64, BK: 16 }, { BQ: 64, BK: 64 }, { BQ: 128, BK: 32 }, { BQ: 128, BK: 16 }, { BQ: 32, BK: 16 }, { BQ: 256, BK: 16 }];
process.stdout.write(`device: ${gpu.info.description}; B ${B} H ${H} T ${T} dk ${dk}\n`);
for (const c of configs) {
  setAttentionTilesForBench(c);
  const tiles = attentionTiles(dk);
  try {
    const fwd = new Program(d);
    attentionForward(fwd, s, q, k, v, out, lse);
    const bwd = new Program(d);
    attentionBackward(bwd, s, q, k, v, out, lse, dout, g);
    const tf = await time(fwd);
    const tb = await time(bwd);
    const o = await download(d, out);
    const dq = await download(d, g.dq);
    refOut ??= o;
    refDq ??= dq;
    let err = 0;
    for (let i = 0; i < o.length; i += 97) err = Math.max(err, Math.abs(o[i] - refOut[i]), Math.abs(dq[i] - refDq[i]));
    process.stdout.write(`BQ ${String(tiles.BQ).padStart(3)} BK ${String(tiles.BK).padStart(2)}${c ? '' : ' (default)'}: forward ${tf.toFixed(3)} ms (${(flops / tf / 1e9).toFixed(1)} TFLOP/s), backward ${tb.toFixed(3)} ms, max diff vs default ${err.toExponential(1)}\n`);
  } catch (e) {
    process.stdout.write(`BQ ${tiles.BQ} BK ${tiles.BK}: failed: ${(e as Error).message.split('\n')[0]}\n`);
  }
}
process.exit(0);
