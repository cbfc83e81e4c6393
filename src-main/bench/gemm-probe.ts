// Probe of the tensor-core GEMM's cost structure (issue 16): the real generated kernels/linear_f16.wgsl text, and
// copies of it with one part of each K step taken out, timed on one large GEMM with f16 operands. Where the time
// goes, read as the difference between rows: global loads (fetch_a/fetch_b), the workgroup-memory stores (put_a/
// put_b, eight f16 stores per 16-byte load), the two barriers, the subgroup-matrix loads from workgroup memory, and
// the multiply-accumulates themselves. Results of the stripped copies are garbage by design; only the full kernel
// is checked (against a float64 product on sampled rows). Each substitution must match the generated text exactly,
// or the probe stops (so it cannot silently time the unmodified kernel).
//   node dist/gemm-probe.mjs   (bundled; env M=32768 N=1536 K=512 ENTRY=forward|backward_input TILES='TM,TN,SR,SC,KS[,PAD];…' REPS WARM_MS)
import { generateLinearF16 } from '../../kernels/gen/linear_f16';
import { describeGpu, hasF16TensorCores, openGpu } from '../engine/gpu/device';
import { Program } from '../engine/gpu/program';
import { withDefines, type Defines } from '../engine/gpu/shaders';
import { createTensor, download, readBytes, upload } from '../engine/gpu/tensor';
import { castF16 } from '../engine/kernels/cast';
import { loopDefines, NO_BLOCKS, parseTile, type F16Tile } from '../engine/kernels/linear-f16';
import { xorshiftUniform } from '../engine/rng';
import { stripKernel, type Sub } from './kernel-strip';

const env = (k: string, d: number): number => (process.env[k] ? Number(process.env[k]) : d);
const M = env('M', 32768);
const N = env('N', 1536);
const K = env('K', 512);
const REPS = env('REPS', 40);
const ENTRY = process.env.ENTRY === 'backward_input' ? 'linear_backward_input' : 'linear_forward';
// TILES="TM,TN,SR,SC,KS[,PAD];…"
const TILES = (process.env.TILES ?? '128,128,2,2,32;128,128,2,2,32,16;128,128,2,2,32,0;256,128,4,2,32').split(';').map((spec) => {
  const pad = spec.split(',')[5];
  return { ...parseTile(spec.split(',').slice(0, 5).join(',')), ...(pad === undefined ? {} : { PAD: Number(pad) }) };
});
const WARM_MS = env('WARM_MS', 400);

/** A stripped copy: [what it removes, [generated text, replacement] pairs, defines to override]. */
type Strip = [string, Sub[], Defines?];

const noGlobal: Sub[] = [
  // Register values that depend on the K step, so that the stores stay live but nothing is read from memory.
  [/fn fetch_a\(it: u32, row0: u32, k0: u32, kEnd: u32, ta: bool, checked: bool\) -> vec4f \{\n(?:.*\n){3}\}/,
    'fn fetch_a(it: u32, row0: u32, k0: u32, kEnd: u32, ta: bool, checked: bool) -> vec4f {\n  if (p.accumulate == 12345u) { return A[it]; }\n  return vec4f(bitcast<f32>(it ^ k0), bitcast<f32>(row0), 0.0, 0.0);\n}'],
  [/fn fetch_b\(it: u32, col0: u32, k0: u32, kEnd: u32, tb: bool, checked: bool\) -> vec4f \{\n(?:.*\n){3}\}/,
    'fn fetch_b(it: u32, col0: u32, k0: u32, kEnd: u32, tb: bool, checked: bool) -> vec4f {\n  if (p.accumulate == 12345u) { return B[it]; }\n  return vec4f(bitcast<f32>(it ^ k0), bitcast<f32>(col0), 0.0, 0.0);\n}'],
];
const onePerEight: Sub[] = ['A', 'B'].map((X) => [
  `${X}s[o] = h0.x; ${X}s[o + 1u] = h0.y; ${X}s[o + 2u] = h1.x; ${X}s[o + 3u] = h1.y;\n    ${X}s[o + 4u] = h2.x; ${X}s[o + 5u] = h2.y; ${X}s[o + 6u] = h3.x; ${X}s[o + 7u] = h3.y;`,
  `${X}s[o] = h0.x + h1.y + h2.x + h3.y;`,
]);
const noPut: Sub[] = [
  ['      for (var v = 0u; v < NA; v++) { put_a(li + v * WG, ra[v], ta); }\n      for (var v = 0u; v < NB; v++) { put_b(li + v * WG, rb[v], tb); }\n', ''],
];
const noBarrier: Sub[] = [
  ['      if (k0 >= kEnd) { break; }\n      workgroupBarrier();\n', '      if (k0 >= kEnd) { break; }\n'],
  ['      for (var v = 0u; v < NB; v++) { put_b(li + v * WG, rb[v], tb); }\n      workgroupBarrier();\n', '      for (var v = 0u; v < NB; v++) { put_b(li + v * WG, rb[v], tb); }\n'],
];
const noBarrierNoPut: Sub[] = [
  ['      if (k0 >= kEnd) { break; }\n      workgroupBarrier();\n      for (var v = 0u; v < NA; v++) { put_a(li + v * WG, ra[v], ta); }\n      for (var v = 0u; v < NB; v++) { put_b(li + v * WG, rb[v], tb); }\n      workgroupBarrier();\n',
    '      if (k0 >= kEnd) { break; }\n'],
];

const alignHint: Sub[] = [
  ['  let o = t.x * select(ASTR_N, ASTR_T, ta) + t.y;', '  let o = ((t.x * select(ASTR_N, ASTR_T, ta) + t.y) >> 3u) << 3u;'],
  ['  let o = t.x * select(BSTR_N, BSTR_T, tb) + t.y;', '  let o = ((t.x * select(BSTR_N, BSTR_T, tb) + t.y) >> 3u) << 3u;'],
];
const noOutput: Sub[] = [
  // The result store skipped behind a condition the compiler cannot decide (M is a uniform), so the products stay live.
  [/fn store_full\((.*)\) \{\n {2}subgroupMatrixStore/, 'fn store_full($1) {\n  if (p.M != 0u) { return; }\n  subgroupMatrixStore'],
];

// Not strips: the same kernel with its strides read from Params (as before the leading dimensions became
// constants), or with all its sizes written in as constants too, to see what the compiler gains from knowing them.
const LDB = ENTRY === 'linear_forward' ? K : N;
const constSizes: Sub[] = [[/p\.M\b/g, `${M}u`], [/p\.N\b/g, `${N}u`], [/p\.K\b/g, `${K}u`], [/p\.kChunk/g, `${K}u`], [/p\.off[ABC]\b/g, '0u']];

const STRIPS: Strip[] = [
  ['nothing (the real kernel)', []],
  ['global loads', noGlobal],
  ['7 of 8 workgroup stores', onePerEight],
  ['global loads + 7 of 8 stores', [...noGlobal, ...onePerEight]],
  ['global loads + all stores', [...noGlobal, ...noPut]],
  ['barriers', noBarrier],
  ['global loads + stores + barriers (matrix loads and MMAs left)', [...noGlobal, ...noBarrierNoPut]],
  ['the result stores', noOutput],
  ['nothing; variant: store index rounded to 8 (alignment hint)', alignHint],
  ['nothing; variant: strides read from Params (CLD off, as before GEMM round 4 and with LMWB_F16_CONST_LD=0)', [], { CLD: false, LDA: 0, LDB: 0, LDC: 0 }],
  ['nothing; variant: sizes and offsets as constants too', constSizes],
  ['nothing; variant: FL alone (the default kernel)', [], { FL: true }],
  ['nothing (the real kernel, again)', []],
];

const strip = (src: string, subs: Sub[], what: string): string => stripKernel(src, subs, what, 'gemm-probe');

/** The kernel's defines for tile t (f16 operands, aligned, the leading dimensions as constants), with `over` on top. */
function definesFor(t: F16Tile, over: Defines = {}): Defines {
  return { ...t, VA: true, VB: true, HA: true, HB: true, CLD: true, LDA: K, LDB, LDC: N, ...NO_BLOCKS, ...loopDefines(), FL: false, RES: false, ...over };
}

async function main(): Promise<void> {
  const gpu = await openGpu();
  const d = gpu.device;
  process.stdout.write(`adapter: ${describeGpu(gpu.info)}\n`);
  if (!hasF16TensorCores(d)) { process.stdout.write('gemm-probe: this adapter has no f16 subgroup matrices; nothing to probe\n'); gpu.destroy(); return; }
  const forward = ENTRY === 'linear_forward';
  // forward: A = x [M,K], B = W [N,K]; backward_input: A = dy [M,K], B = W [K,N]. Random f32 values cast to f16
  // on the GPU (cast.wgsl, as training makes its operands); the oracle reads the f16 values back.
  const [a32, b32] = [createTensor(d, [M * K], 'A f32'), createTensor(d, [N * K], 'B f32')];
  upload(d, a32, xorshiftUniform(M * K, 11, 0.5));
  upload(d, b32, xorshiftUniform(N * K, 12, 0.5));
  const [A, B] = [createTensor(d, [M * K], 'A', 'f16'), createTensor(d, [N * K], 'B', 'f16')];
  const C = createTensor(d, [M * N], 'C');
  const prog = new Program(d);
  castF16(prog, a32, A);
  castF16(prog, b32, B);
  // Params as linear-f16.ts fills them (scaleA = unscale = 1).
  const P = prog.uniform([
    ['u32', M], ['u32', N], ['u32', K], ['u32', K], ['u32', LDB], ['u32', N], ['u32', 0], ['u32', 0], ['u32', 0], ['u32', 0],
    ['u32', K], ['u32', 0], ['f32', 1], ['f32', 1],
  ], 'gemm-probe params');
  prog.submit();
  const [aF, bF] = [await download(d, A), await download(d, B)];
  a32.buffer.destroy();
  b32.buffer.destroy();
  const flops = 2 * M * N * K;
  process.stdout.write(`GEMM ${ENTRY} M ${M} N ${N} K ${K}, f16 operands, f32 out; ${REPS} dispatches per timing, best of 3\n`);
  process.stdout.write('| tile | taken out | ms | TFLOP/s | max rel err (real kernel only) |\n|---|---|---|---|---|\n');
  const src = generateLinearF16();
  for (const t of TILES) {
    if (M % t.TM || N % t.TN) { process.stdout.write(`tile ${t.TM}x${t.TN} does not divide ${M}x${N}; skipped\n`); continue; }
    for (const [what, subs, over] of STRIPS) {
      const code = withDefines(strip(src, subs, what), definesFor(t, over));
      d.pushErrorScope('validation');
      const mod = d.createShaderModule({ code });
      const errs = (await mod.getCompilationInfo()).messages.filter((m) => m.type === 'error');
      if (errs.length) { await d.popErrorScope(); process.stdout.write(`| ${t.TM}x${t.TN} ${t.SR}x${t.SC} KS${t.KS} PAD${t.PAD} | ${what} | WGSL error: ${errs[0].message} | | |\n`); continue; }
      const pipe = d.createComputePipeline({ layout: 'auto', compute: { module: mod, entryPoint: ENTRY } });
      const bg = d.createBindGroup({ layout: pipe.getBindGroupLayout(0), entries: [P, A.buffer, B.buffer, C.buffer, A.buffer].map((buffer, binding) => ({ binding, resource: { buffer } })) });
      const run = (n: number): void => {
        const e = d.createCommandEncoder(); const pass = e.beginComputePass(); pass.setPipeline(pipe); pass.setBindGroup(0, bg);
        for (let i = 0; i < n; i++) pass.dispatchWorkgroups(N / t.TN, M / t.TM, 1);
        pass.end(); d.queue.submit([e.finish()]);
      };
      run(2); await d.queue.onSubmittedWorkDone();
      const err = await d.popErrorScope();
      if (err) { process.stdout.write(`| ${t.TM}x${t.TN} ${t.SR}x${t.SC} KS${t.KS} PAD${t.PAD} | ${what} | GPU error: ${err.message.slice(0, 200)} | | |\n`); continue; }
      let rel = '';
      // The rows that take nothing out compute the real product: check it.
      if (what.startsWith('nothing')) rel = (await checkRows(d, C.buffer, aF, bF, forward)).toExponential(2);
      // Keep the GPU busy for WARM_MS first (its clocks drop while pipelines compile), then the best of 3.
      for (const w0 = performance.now(); performance.now() - w0 < WARM_MS;) { run(REPS); await d.queue.onSubmittedWorkDone(); }
      let best = Infinity;
      for (let r = 0; r < 3; r++) { const t0 = performance.now(); run(REPS); await d.queue.onSubmittedWorkDone(); best = Math.min(best, (performance.now() - t0) / REPS); }
      process.stdout.write(`| ${t.TM}x${t.TN} ${t.SR}x${t.SC} KS${t.KS} PAD${t.PAD} | ${what} | ${best.toFixed(3)} | ${(flops / best / 1e9).toFixed(1)} | ${rel} |\n`);
    }
  }
  prog.destroy();
  gpu.destroy();
}

/** Max |got − ref| / max |ref| over 6 sampled rows of C. */
async function checkRows(d: GPUDevice, C: GPUBuffer, aF: Float32Array, bF: Float32Array, forward: boolean): Promise<number> {
  const rows = [0, 1, Math.floor(M / 3), Math.floor(M / 2), M - 2, M - 1];
  let maxErr = 0, maxRef = 0;
  for (const r of rows) {
    const got = new Float32Array(await readBytes(d, C, r * N * 4, N * 4));
    for (let n = 0; n < N; n++) {
      let ref = 0;
      for (let k = 0; k < K; k++) ref += aF[r * K + k] * (forward ? bF[n * K + k] : bF[k * N + n]);
      maxErr = Math.max(maxErr, Math.abs(got[n] - ref)); maxRef = Math.max(maxRef, Math.abs(ref));
    }
  }
  return maxErr / maxRef;
}

void main().catch((e: unknown) => { process.stderr.write(`${(e as Error).stack ?? String(e)}\n`); process.exit(1); });
