// Attention kernel benchmark: forward and backward time of the causal attention kernels at the CS336 shape
// (batch 128, 16 heads, T 256, head dim 32 by default), for the f32 kernel (attention.wgsl) and the tensor-core f16
// kernel (attention_f16.wgsl), with the f16 results checked against the f32 kernel's on the full shape and on
// awkward shapes (PASS/FAIL lines: this is the f16 kernel's correctness check on the GPU machine).
//   npx tsx src-main/bench/attention-bench.ts [--batch 128 --heads 16 --seq 256 --dk 32]
//     --backend f32|f16|both   which kernels to time (default both; f16 alone skips the full-shape comparison)
//     --check / --no-check     the awkward-shape comparison (default on where f16 runs)
//     --f16-sweep              time the f16 kernels over several tiles
//     --f32-sweep              time the f32 kernel over several tile sizes (the previous tile sweep)
//   LMWB_DAWN_TOGGLES=a,b (read by openGpu) adds Dawn toggles, e.g. disable_workgroup_init, for comparison
import { parseArgs } from 'node:util';
import { describeGpu, hasF16TensorCores, openGpu } from '../engine/gpu/device';
import { f32Kernels, Program, type KernelChoice } from '../engine/gpu/program';
import { profileProgram } from '../engine/gpu/profiler';
import { createTensor, upload, download, type Tensor } from '../engine/gpu/tensor';
import {
  attentionForward, attentionBackward, projectionLayout, setAttentionTilesForBench, attentionTiles,
  type AttentionShape, type AttentionTiles,
} from '../engine/kernels/attention';
import { dsScratchElements, f16AttentionTile, setF16AttentionTiles, type AttentionPass, type F16AttentionTile } from '../engine/kernels/attention-f16';
import { rngFor, normal } from '../engine/rng';

const { values: a } = parseArgs({
  options: {
    batch: { type: 'string', default: '128' }, heads: { type: 'string', default: '16' }, seq: { type: 'string', default: '256' },
    dk: { type: 'string', default: '32' }, reps: { type: 'string', default: '20' }, backend: { type: 'string', default: 'both' },
    check: { type: 'boolean', default: true }, 'no-check': { type: 'boolean', default: false },
    'f16-sweep': { type: 'boolean', default: false }, 'f32-sweep': { type: 'boolean', default: false },
  },
});
const [B, H, T, dk, reps] = [a.batch, a.heads, a.seq, a.dk, a.reps].map(Number);
const gpu = await openGpu();
const d = gpu.device;
const hasF16 = hasF16TensorCores(d);
const runF32 = a.backend !== 'f16';
const runF16 = a.backend !== 'f32' && hasF16;
if (a.backend !== 'f32' && !hasF16) process.stdout.write('f16 attention: this adapter has no subgroup matrices; f16 skipped\n');

interface Problem { s: AttentionShape; n: number; q: Tensor; k: Tensor; v: Tensor; dout: Tensor }
/** dsT: the f16 dS scratch the f16 backward takes dq from where T is a multiple of 16 (absent: backward_query). */
interface Outputs { out: Tensor; lse: Tensor; dq: Tensor; dk: Tensor; dv: Tensor; dsum: Tensor; dsT?: Tensor }

function problem(s: AttentionShape, seed: number): Problem {
  const n = s.B * s.H * s.T * s.dk;
  const rng = rngFor(seed, 7);
  const mk = (label: string) => {
    const t = createTensor(d, [n], label);
    upload(d, t, Float32Array.from({ length: n }, () => normal(rng)));
    return t;
  };
  return { s, n, q: mk('q'), k: mk('k'), v: mk('v'), dout: mk('dout') };
}

function outputs(p: Problem, label: string): Outputs {
  const rows = p.s.B * p.s.H * p.s.T;
  const mk = (name: string, n: number) => createTensor(d, [n], `${label}.${name}`);
  const ds = process.env.LMWB_ATTN_DS !== '0' && p.s.T % 16 === 0 ? { dsT: createTensor(d, [dsScratchElements(p.s)], `${label}.dsT`, 'f16') } : {};
  return { out: mk('out', p.n), lse: mk('lse', rows), dq: mk('dq', p.n), dk: mk('dk', p.n), dv: mk('dv', p.n), dsum: mk('dsum', rows), ...ds };
}

function record(p: Problem, o: Outputs, backend: KernelChoice['attention']): { fwd: Program; bwd: Program } {
  const kernels: KernelChoice = { ...f32Kernels(d), attention: backend };
  const fwd = new Program(d, kernels);
  attentionForward(fwd, p.s, p.q, p.k, p.v, o.out, o.lse);
  const bwd = new Program(d, kernels);
  attentionBackward(bwd, p.s, p.q, p.k, p.v, o.out, o.lse, p.dout, { dq: o.dq, dk: o.dk, dv: o.dv, dsum: o.dsum, dsT: o.dsT });
  return { fwd, bwd };
}

/**
 * Wall-clock ms per run: `reps` copies of the program in one command buffer, best of three, after at least 300 ms
 * of the same work (the H100's clocks drop within seconds of idling, e.g. while results are checked on the CPU,
 * and a cold start reads several times slower).
 */
async function time(p: Program): Promise<number> {
  const many = new Program(d);
  for (let i = 0; i < reps; i++) many.append(p);
  const w0 = performance.now();
  do {
    many.submit();
    await gpu.sync();
  } while (performance.now() - w0 < 300);
  let best = Infinity;
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    many.submit();
    await gpu.sync();
    best = Math.min(best, (performance.now() - t0) / reps);
  }
  return best;
}

const maxAbs = (x: Float32Array): number => x.reduce((m, y) => Math.max(m, Math.abs(y)), 0);

/** max |x − ref| / max(max |ref|, floor) (lse: max |x − ref|, it is a log). */
function err(x: Float32Array, ref: Float32Array, floor = 0, absolute = false): number {
  let dd = 0;
  for (let i = 0; i < ref.length; i++) dd = Math.max(dd, Math.abs(x[i] - ref[i]));
  return absolute ? dd : dd / Math.max(maxAbs(ref), floor, 1e-30);
}

// Bounds of test/kernels/attention-f16.test.ts (f16 rounding of q, k, v, dout and P/dS, f32 accumulation).
const LIMITS = { out: 5e-3, lse: 5e-3, dq: 1e-2, dk: 1e-2, dv: 1e-2 } as const;
type Errors = Record<keyof typeof LIMITS, number>;

/** Errors of x against ref; dq and dk relative to max(max |ref|, max |ref dv|), as in the test (they can be ~0). */
async function compare(x: Outputs, ref: Outputs): Promise<Errors> {
  const get = (t: Tensor) => download(d, t);
  const dvRef = await get(ref.dv);
  const g = maxAbs(dvRef);
  return {
    out: err(await get(x.out), await get(ref.out)),
    lse: err(await get(x.lse), await get(ref.lse), 0, true),
    dq: err(await get(x.dq), await get(ref.dq), g),
    dk: err(await get(x.dk), await get(ref.dk), g),
    dv: err(await get(x.dv), dvRef),
  };
}

const pass = (e: Errors) => (Object.keys(LIMITS) as Array<keyof typeof LIMITS>).every((k) => e[k] < LIMITS[k]);
const fmtErr = (e: Errors) => `out ${e.out.toExponential(2)} lse ${e.lse.toExponential(2)} dq ${e.dq.toExponential(2)} dk ${e.dk.toExponential(2)} dv ${e.dv.toExponential(2)}`;
const tileStr = (t: F16AttentionTile | undefined) => (t ? `${t.NSG}x${t.BK}` : 'none');
const f16Tiles = (dkk: number) => (['forward', 'backward_query', 'backward_key', 'backward_dq'] as const).map((p) => `${p} ${tileStr(f16AttentionTile(d, p, dkk))}`).join(', ');
const destroy = (...ts: Tensor[]) => ts.forEach((t) => t.buffer.destroy());
let failures = 0;

process.stdout.write(`device: ${describeGpu(gpu.info)}; B ${B} H ${H} T ${T} dk ${dk}; ${reps} runs per timing\n`);
const s = projectionLayout(B, T, H, dk);
const flops = 2 * 2 * B * H * (T * (T + 1)) / 2 * dk; // QKᵀ and PV over the causal half
const main = problem(s, 1);
const o32 = outputs(main, 'f32');
const o16 = outputs(main, 'f16');


/** Times a recorded forward and backward, prints ms per layer and (with timestamp queries) the per-kernel split. */
async function timeAndReport(p: { fwd: Program; bwd: Program }, name: string): Promise<void> {
  const tf = await time(p.fwd);
  const tb = await time(p.bwd);
  p.fwd.submit();
  p.bwd.submit();
  await gpu.sync();
  process.stdout.write(`${name}: forward ${tf.toFixed(3)} ms (${(flops / tf / 1e9).toFixed(1)} TFLOP/s), backward ${tb.toFixed(3)} ms, total ${(tf + tb).toFixed(3)} ms per layer\n`);
  if (d.features.has('timestamp-query')) {
    const prof = new Program(d);
    prof.append(p.fwd);
    prof.append(p.bwd);
    const r = await profileProgram(d, prof, 10);
    process.stdout.write(`  per kernel (timestamps): ${r.kernels.map((k) => `${k.label} ${k.ms.toFixed(3)} ms`).join(', ')}\n`);
  }
}

if (runF32) {
  await timeAndReport(record(main, o32, 'f32'), `f32 (BQ ${attentionTiles(dk).BQ} BK ${attentionTiles(dk).BK})`);
}
if (runF16) {
  await timeAndReport(record(main, o16, 'f16'), `f16 (tiles ${f16Tiles(dk)})`);
  if (runF32) {
    const e = await compare(o16, o32);
    if (!pass(e)) failures++;
    process.stdout.write(`  full shape f16 vs f32: ${fmtErr(e)} ${pass(e) ? 'PASS' : 'FAIL'}\n`);
  }
}

if (runF16 && a['f16-sweep']) {
  const fwdTiles: F16AttentionTile[] = [{ NSG: 4, BK: 16 }, { NSG: 4, BK: 32 }, { NSG: 4, BK: 64 }, { NSG: 2, BK: 16 }, { NSG: 8, BK: 16 }, { NSG: 8, BK: 32 }];
  const bwdTiles: F16AttentionTile[] = [{ NSG: 4, BK: 32 }, { NSG: 4, BK: 16 }, { NSG: 2, BK: 32 }, { NSG: 2, BK: 16 }, { NSG: 2, BK: 64 }, { NSG: 1, BK: 32 }, { NSG: 1, BK: 64 }];
  const sweep: Array<Partial<Record<AttentionPass, F16AttentionTile>>> = [
    ...fwdTiles.map((t) => ({ forward: t })),
    ...bwdTiles.map((t) => ({ backward_query: t, backward_key: t, backward_dq: t })),
  ];
  for (const tiles of sweep) {
    try {
      setF16AttentionTiles(tiles);
      const p = record(main, o16, 'f16');
      const prog = tiles.forward ? p.fwd : p.bwd;
      const ms = await time(prog);
      const r = await profileProgram(d, prog, 10);
      process.stdout.write(`  sweep ${JSON.stringify(tiles)}: ${tiles.forward ? 'forward' : 'backward'} ${ms.toFixed(3)} ms; timestamps ${r.kernels.map((k) => `${k.label} ${k.ms.toFixed(3)}`).join(', ')}\n`);
    } catch (e) {
      process.stdout.write(`  sweep ${JSON.stringify(tiles)}: failed: ${(e as Error).message.split('\n')[0]}\n`);
    }
  }
  setF16AttentionTiles({});
}

if (runF16 && a.check && !a['no-check']) {
  interface Awkward { B: number; H: number; T: number; dk: number; bhtd?: boolean; tiles?: Partial<Record<AttentionPass, F16AttentionTile>> }
  const cases: Awkward[] = [
    { B: 2, H: 3, T: 1, dk: 32 },
    { B: 2, H: 3, T: 17, dk: 16 },
    { B: 3, H: 2, T: 100, dk: 32 },
    { B: 2, H: 2, T: 100, dk: 64, bhtd: true },
    { B: 4, H: 4, T: 256, dk: 32 },
    { B: 1, H: 3, T: 333, dk: 64 },
    { B: 1, H: 2, T: 200, dk: 128 },
    { B: 2, H: 2, T: 77, dk: 48, bhtd: true },
    { B: 1, H: 2, T: 90, dk: 16, tiles: { forward: { NSG: 1, BK: 64 }, backward_query: { NSG: 1, BK: 32 }, backward_key: { NSG: 1, BK: 64 } } },
    { B: 1, H: 2, T: 130, dk: 32, tiles: { forward: { NSG: 2, BK: 16 }, backward_query: { NSG: 4, BK: 16 }, backward_key: { NSG: 2, BK: 64 } } },
    // T a multiple of 16: dq through the dS scratch (dsum, backward_key_ds, backward_dq), with several tiles
    { B: 2, H: 3, T: 48, dk: 16 },
    { B: 2, H: 2, T: 96, dk: 64, bhtd: true, tiles: { backward_key: { NSG: 1, BK: 32 }, backward_dq: { NSG: 4, BK: 16 } } },
    { B: 1, H: 2, T: 128, dk: 128, tiles: { backward_key: { NSG: 2, BK: 16 }, backward_dq: { NSG: 1, BK: 32 } } },
    { B: 1, H: 2, T: 160, dk: 32, tiles: { backward_key: { NSG: 4, BK: 32 }, backward_dq: { NSG: 4, BK: 32 } } },
  ];
  for (const c of cases) {
    const sh: AttentionShape = c.bhtd
      ? { B: c.B, H: c.H, T: c.T, dk: c.dk, sB: c.H * c.T * c.dk, sH: c.T * c.dk, sT: c.dk }
      : projectionLayout(c.B, c.T, c.H, c.dk);
    const pr = problem(sh, 2 + c.T);
    const r32 = outputs(pr, 'ref');
    const r16 = outputs(pr, 'x');
    const name = `B ${c.B} H ${c.H} T ${c.T} dk ${c.dk}${c.bhtd ? ' [B,H,T,dk]' : ''}${c.tiles ? ` tiles ${JSON.stringify(c.tiles)}` : ''}`;
    try {
      setAttentionTilesForBench(undefined);
      const p32 = record(pr, r32, 'f32');
      setF16AttentionTiles(c.tiles ?? {});
      const p16 = record(pr, r16, 'f16');
      const kinds = p16.fwd.steps.concat(p16.bwd.steps).filter((st) => st.label.startsWith('attention_f16')).length;
      for (const p of [p32.fwd, p32.bwd, p16.fwd, p16.bwd]) p.submit();
      await gpu.sync();
      const e = await compare(r16, r32);
      const want = r16.dsT ? 4 : 3; // forward, then backward_query and backward_key, or dsum, backward_key and backward_dq
      const ok = pass(e) && kinds === want;
      if (!ok) failures++;
      process.stdout.write(`  check ${name}${r16.dsT ? ' (dq through dS)' : ''}: ${fmtErr(e)}${kinds === want ? '' : ` (${kinds} f16 attention dispatches, ${want} expected)`} ${ok ? 'PASS' : 'FAIL'}\n`);
    } catch (e) {
      failures++;
      process.stdout.write(`  check ${name}: error: ${(e as Error).message.split('\n')[0]} FAIL\n`);
    } finally {
      setF16AttentionTiles({});
      destroy(pr.q, pr.k, pr.v, pr.dout, ...Object.values(r32), ...Object.values(r16));
    }
  }
}

if (runF32 && a['f32-sweep']) {
  const configs: Array<AttentionTiles | undefined> = [undefined, { BQ: 32, BK: 32 }, { BQ: 64, BK: 64 }, { BQ: 128, BK: 32 }, { BQ: 128, BK: 16 }, { BQ: 32, BK: 16 }];
  for (const c of configs) {
    setAttentionTilesForBench(c);
    const tiles = attentionTiles(dk);
    try {
      const p = record(main, o32, 'f32');
      const tf = await time(p.fwd);
      const tb = await time(p.bwd);
      process.stdout.write(`f32 BQ ${String(tiles.BQ).padStart(3)} BK ${String(tiles.BK).padStart(2)}${c ? '' : ' (default)'}: forward ${tf.toFixed(3)} ms, backward ${tb.toFixed(3)} ms\n`);
    } catch (e) {
      process.stdout.write(`f32 BQ ${tiles.BQ} BK ${tiles.BK}: failed: ${(e as Error).message.split('\n')[0]}\n`);
    }
  }
  setAttentionTilesForBench(undefined);
}

if (runF16) process.stdout.write(failures ? `f16 attention: ${failures} check(s) FAILED\n` : 'f16 attention: all checks PASS\n');
process.exit(failures ? 1 : 0);
