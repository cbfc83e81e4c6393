// Matmul benchmark for the linear op: TFLOP/s of the f32 (linear.wgsl) and f16 tensor-core (linear_f16.wgsl)
// kernels at the CS336 model's shapes (batch 128 × context 256 = 32768 rows, d_model 512, d_ff 1344, vocab 10000),
// each checked against a float64 CPU product on sampled output rows.
//   node matmul-bench.mjs            (bundled; env ROWS=32768 HEAD_ROWS=8192 REPS=10 SWEEP=1 ONLY=f16|f32 DIRECT=1)
import { describeGpu, hasF16TensorCores, openGpu, type Gpu } from '../engine/gpu/device';
import { f32Kernels, Program, type KernelChoice } from '../engine/gpu/program';
import { kernelSource } from '../engine/gpu/shaders';
import { createTensor, readBytes, upload, type Tensor } from '../engine/gpu/tensor';
import { describeKernels } from '../engine/kernels/choice';
import { chooseDirectTile, chooseSplits, chooseTile, directFits, gemmF16, NO_BLOCKS, loopDefines, parseDirectTile, parseTile, type DirectTile, type F16Tile, type Gemm } from '../engine/kernels/linear-f16';
import { linearForward, linearBackwardInput, linearBackwardWeight } from '../engine/kernels/linear';
import { castF16 } from '../engine/kernels/cast';
import { xorshiftUniform as rand } from '../engine/rng';

const env = (k: string, d: number): number => (process.env[k] ? Number(process.env[k]) : d);
const ROWS = env('ROWS', 32768);
const HEAD_ROWS = env('HEAD_ROWS', 8192);
const REPS = env('REPS', 5);
const TARGET_MS = env('TARGET_MS', 80);
const SWEEP = process.env.SWEEP === '1';
const ONLY = process.env.ONLY;

interface Layer { name: string; rows: number; inF: number; outF: number }
const layers: Layer[] = [
  { name: 'attn proj 512→512', rows: ROWS, inF: 512, outF: 512 },
  { name: 'ffn w1/w3 512→1344', rows: ROWS, inF: 512, outF: 1344 },
  { name: 'ffn w2 1344→512', rows: ROWS, inF: 1344, outF: 512 },
  { name: `lm head 512→10000 (${HEAD_ROWS} rows)`, rows: HEAD_ROWS, inF: 512, outF: 10000 },
];
type Op = 'forward' | 'backward_input' | 'backward_weight';
const ops: Op[] = ['forward', 'backward_input', 'backward_weight'];

/** The GEMM a linear op records (same mapping as linear.ts). */
function gemmOf(op: Op, l: Layer, x: Tensor, W: Tensor, y: Tensor, dW: Tensor): Gemm {
  const { rows, inF, outF } = l;
  if (op === 'forward') return { entry: 'linear_forward', A: x, B: W, C: y, M: rows, N: outF, K: inF, lda: inF, ldb: inF, ldc: outF, label: op };
  if (op === 'backward_input') return { entry: 'linear_backward_input', A: y, B: W, C: x, M: rows, N: inF, K: outF, lda: outF, ldb: inF, ldc: inF, label: op };
  return { entry: 'linear_backward_weight', A: y, B: x, C: dW, M: outF, N: inF, K: rows, lda: outF, ldb: inF, ldc: inF, label: op };
}

/** Rows [r] of a row-major [?, n] tensor, read back. */
async function readRows(gpu: Gpu, t: Tensor, n: number, rows: number[]): Promise<Float32Array[]> {
  const out: Float32Array[] = [];
  for (const r of rows) out.push(new Float32Array(await readBytes(gpu.device, t.buffer, t.byteOffset + r * n * 4, n * 4)));
  return out;
}

function refRow(op: Op, l: Layer, r: number, x: Float32Array, W: Float32Array, dy: Float32Array): Float64Array {
  const { rows, inF, outF } = l;
  if (op === 'forward') {
    const o = new Float64Array(outF);
    for (let n = 0; n < outF; n++) { let s = 0; for (let k = 0; k < inF; k++) s += x[r * inF + k] * W[n * inF + k]; o[n] = s; }
    return o;
  }
  if (op === 'backward_input') {
    const o = new Float64Array(inF);
    for (let k = 0; k < outF; k++) { const a = dy[r * outF + k]; for (let n = 0; n < inF; n++) o[n] += a * W[k * inF + n]; }
    return o;
  }
  const o = new Float64Array(inF);
  for (let k = 0; k < rows; k++) { const a = dy[k * outF + r]; for (let n = 0; n < inF; n++) o[n] += a * x[k * inF + n]; }
  return o;
}

/** half: A and B as f16 copies (mixed-precision training's operands), else f32 converted in the kernel. */
interface Variant {
  name: string; backend: 'f32' | 'f16'; tile?: F16Tile; splits?: number; f32?: 'gpu' | 'cpu'; half?: boolean;
  /** linear_f16_direct.wgsl: 'auto' = chooseDirectTile's, or this tile (skipped where it does not cover C). */
  direct?: DirectTile | 'auto';
}

async function main(): Promise<void> {
  const gpu = await openGpu();
  process.stdout.write(`adapter: ${describeGpu(gpu.info)}; features: ${gpu.info.features.join(' ')}\n`);
  const hasF16 = hasF16TensorCores(gpu.device);
  const base = f32Kernels(gpu.device);
  process.stdout.write(`${describeKernels(hasF16 ? { ...base, linear: 'f16' } : base)}\n`);
  if (hasF16) {
    // Surface WGSL compile messages of the default variant up front.
    const t = chooseTile(ROWS, 512, 512);
    const mod = gpu.device.createShaderModule({ code: kernelSource('linear_f16', { ...t, VA: true, VB: true, HA: true, HB: false, CLD: false, LDA: 0, LDB: 0, LDC: 0, ...NO_BLOCKS, ...loopDefines(), RES: false }) });
    const info = await mod.getCompilationInfo();
    for (const m of info.messages) process.stdout.write(`linear_f16.wgsl ${m.type} ${m.lineNum}:${m.linePos} ${m.message}\n`);
    const dmod = gpu.device.createShaderModule({ code: kernelSource('linear_f16_direct', { TM: 128, TN: 128, SR: 2, SC: 2, FI: 4, FJ: 4 }) });
    for (const m of (await dmod.getCompilationInfo()).messages) process.stdout.write(`linear_f16_direct.wgsl ${m.type} ${m.lineNum}:${m.linePos} ${m.message}\n`);
  }
  const variants: Variant[] = [];
  if (ONLY !== 'f16') {
    // F32_VARIANTS=gpu,cpu: both variants of linear.wgsl (default: the one chosen for this adapter)
    const f32s = (process.env.F32_VARIANTS?.split(',') ?? [base.f32Variant]) as Array<'gpu' | 'cpu'>;
    for (const f of f32s) variants.push({ name: `f32 (${f})`, backend: 'f32', f32: f });
  }
  if (hasF16 && ONLY !== 'f32') {
    variants.push({ name: 'f16', backend: 'f16' });
    variants.push({ name: 'f16 ops', backend: 'f16', half: true });
    // DIRECT=1: also linear_f16_direct.wgsl (an opt-in experiment, slower: BENCHMARKS.md, GEMM round 3), with
    // DIRECT_TILES="TM,TN,SR,SC;…" its tiles to compare besides its default
    if (process.env.DIRECT === '1') {
      variants.push({ name: 'f16 ops direct', backend: 'f16', half: true, direct: 'auto' });
      for (const spec of (process.env.DIRECT_TILES ?? '').split(';').filter(Boolean)) {
        const t = parseDirectTile(spec);
        variants.push({ name: `f16 ops direct ${t.TM}x${t.TN} ${t.SR}x${t.SC}sg`, backend: 'f16', half: true, direct: t });
      }
    }
    if (SWEEP) {
      // SWEEP_TILES="TM,TN,SR,SC,KS;…" picks the f16-operand tiles to compare.
      for (const spec of (process.env.SWEEP_TILES ?? '256,128,4,2,32;128,256,2,4,32;256,128,8,2,32;128,128,2,2,32').split(';')) {
        const t = parseTile(spec);
        variants.push({ name: `f16 ops ${t.TM}x${t.TN} ${t.SR}x${t.SC}sg KS${t.KS}`, backend: 'f16', half: true, tile: t });
      }
    }
  }
  const table: string[] = [];
  const head = `| layer | op | M×N×K | kernel | ms | TFLOP/s | max rel err |`;
  table.push(head, '|---|---|---|---|---|---|---|');
  process.stdout.write(`${head}\n`);
  const d = gpu.device;
  // LAYERS=0,3: only those layers (slow adapters)
  const pick = process.env.LAYERS?.split(',').map(Number);
  for (const l of layers.filter((_, i) => !pick || pick.includes(i))) {
    const x = rand(l.rows * l.inF, 11, 1), W = rand(l.outF * l.inF, 12, 0.5), dy = rand(l.rows * l.outF, 13, 1);
    const tx = createTensor(d, [l.rows, l.inF], 'x'), tW = createTensor(d, [l.outF, l.inF], 'W'), ty = createTensor(d, [l.rows, l.outF], 'y');
    const tdW = createTensor(d, [l.outF, l.inF], 'dW');
    const hx = createTensor(d, [l.rows, l.inF], 'x16', 'f16'), hW = createTensor(d, [l.outF, l.inF], 'W16', 'f16'), hy = createTensor(d, [l.rows, l.outF], 'y16', 'f16');
    for (const op of ops) {
      const g0 = gemmOf(op, l, tx, tW, ty, tdW);
      const sampleMax = g0.M;
      const sample = [0, sampleMax - 1, ...Array.from({ length: 6 }, (_, i) => Math.floor(((i + 0.5) / 6) * sampleMax))];
      const refs = sample.map((r) => refRow(op, l, r, x, W, dy));
      const flops = 2 * g0.M * g0.N * g0.K;
      for (const v of variants) {
        const direct = v.direct === 'auto' ? chooseDirectTile(g0.M, g0.N, g0.K) : v.direct;
        if (v.direct && (!direct || !directFits(direct, g0.M, g0.N, g0.K))) continue;
        // Inputs are re-uploaded for each variant (backward_input writes x's tensor).
        upload(d, tx, x); upload(d, tW, W); upload(d, ty, dy);
        if (v.half) {
          const c = new Program(d);
          castF16(c, tx, hx); castF16(c, tW, hW); castF16(c, ty, hy);
          c.submit();
        }
        // Each variant records with its own kernel choice (the programs carry it).
        const kernels: KernelChoice = { ...base, linear: v.backend, f32Variant: v.f32 ?? base.f32Variant };
        const prog = new Program(d, kernels);
        const owned = [prog];
        let line: string;
        try {
          const s = { rows: l.rows, inFeatures: l.inF, outFeatures: l.outF };
          // Correctness run: one call through the public API (or the tile override for sweep variants).
          const record = (p: Program): void => {
            if (v.half) {
              const g = gemmOf(op, l, hx, hW, hy, tdW);
              gemmF16(p, { ...g, C: op === 'forward' ? ty : op === 'backward_input' ? tx : tdW }, { tile: v.tile, splits: v.splits, direct: direct ?? false });
              return;
            }
            if (v.backend === 'f16' && (v.tile || v.splits)) { gemmF16(p, gemmOf(op, l, tx, tW, ty, tdW), { tile: v.tile, splits: v.splits }); return; }
            if (op === 'forward') linearForward(p, s, tx, tW, ty);
            else if (op === 'backward_input') linearBackwardInput(p, s, ty, tW, tx);
            else linearBackwardWeight(p, s, ty, tx, tdW);
          };
          record(prog);
          prog.submit();
          await gpu.sync();
          const out = op === 'forward' ? ty : op === 'backward_input' ? tx : tdW;
          const got = await readRows(gpu, out, g0.N, sample);
          let maxErr = 0, maxRef = 0;
          got.forEach((row, i) => { for (let n = 0; n < g0.N; n++) { maxErr = Math.max(maxErr, Math.abs(row[n] - refs[i][n])); maxRef = Math.max(maxRef, Math.abs(refs[i][n])); } });
          // Timing: one pass of identical calls lasting about TARGET_MS (so the submit/wait latency is noise), warmed
          // up once; the best of three timed submits.
          const once = new Program(d, kernels);
          owned.push(once);
          record(once);
          once.submit(); await gpu.sync();
          let t0 = performance.now();
          for (let i = 0; i < 3; i++) once.submit();
          await gpu.sync();
          const est = (performance.now() - t0) / 3;
          const reps = Math.max(REPS, Math.min(2000, Math.ceil(TARGET_MS / est)));
          const tp = new Program(d, kernels);
          owned.push(tp);
          for (let i = 0; i < reps; i++) record(tp);
          tp.submit(); await gpu.sync();
          let ms = Infinity;
          for (let i = 0; i < 3; i++) {
            t0 = performance.now();
            tp.submit(); await gpu.sync();
            ms = Math.min(ms, (performance.now() - t0) / reps);
          }
          const dt = v.tile ?? chooseTile(g0.M, g0.N, g0.K, g0.entry, !!v.half);
          const extra = direct ? ` [${direct.TM}×${direct.TN} ${direct.SR}×${direct.SC}sg, splits ${chooseSplits({ ...direct, KS: 16, PAD: 0 }, g0.M, g0.N, g0.K, g0.entry).splits}]` : v.backend === 'f16' && !v.tile ? ` [${dt.TM}×${dt.TN} ${dt.SR}×${dt.SC}sg KS${dt.KS}, splits ${chooseSplits(dt, g0.M, g0.N, g0.K, g0.entry).splits}]` : '';
          line = `| ${l.name} | ${op} | ${g0.M}×${g0.N}×${g0.K} | ${v.name}${extra} | ${ms.toFixed(3)} | ${(flops / ms / 1e9).toFixed(flops / ms / 1e9 < 1 ? 4 : 1)} | ${(maxErr / maxRef).toExponential(2)} |`;
        } catch (e) {
          line = `| ${l.name} | ${op} | ${g0.M}×${g0.N}×${g0.K} | ${v.name} | error | ${(e as Error).message.slice(0, 300).replace(/\n/g, ' ')} | |`;
        }
        for (const p of owned) p.destroy();
        table.push(line);
        process.stdout.write(`${line}\n`);
      }
    }
    for (const t of [tx, tW, ty, tdW, hx, hW, hy]) t.buffer.destroy();
  }
  gpu.destroy();
  process.exit(0);
}

void main().catch((e: unknown) => {
  process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
