// Probe of the tensor-core attention kernels' cost structure (issue 16), as gemm-probe is for the GEMM: the real
// generated kernels/attention_f16.wgsl, and copies of it with one part of the streamed-block loop taken out, each
// recorded through the engine's own dispatch code (attention-f16.ts) and timed per pass with GPU timestamps at the
// CS336 shape. Where the time goes is read as the difference between rows. Stripped copies compute garbage by
// design; rows whose name starts with "nothing" or "variant" are checked against the real kernel's outputs.
// Each substitution must match the generated text, or the probe stops (it cannot silently time the real kernel).
//   node dist/attention-probe.mjs   (bundled; env B=128 H=16 T=256 DK=32, TILES='pass:NSG,BK;…' to force tiles,
//   DS=0 for the backward without the dS scratch (backward_query), REAL=1 for the real kernel's row only)
import { generateAttentionF16 } from '../../kernels/gen/attention_f16';
import { describeGpu, hasF16TensorCores, openGpu } from '../engine/gpu/device';
import { f32Kernels, Program } from '../engine/gpu/program';
import { profileProgram } from '../engine/gpu/profiler';
import { overrideKernelText } from '../engine/gpu/shaders';
import { createTensor, download, upload, type Tensor } from '../engine/gpu/tensor';
import { attentionBackward, attentionForward, projectionLayout } from '../engine/kernels/attention';
import { dsScratchElements, setF16AttentionTiles, type AttentionPass, type F16AttentionTile } from '../engine/kernels/attention-f16';
import { normal, rngFor } from '../engine/rng';
import { stripKernel, type Sub } from './kernel-strip';

const env = (k: string, dflt: number): number => (process.env[k] ? Number(process.env[k]) : dflt);
const [B, H, T, DK] = [env('B', 128), env('H', 16), env('T', 256), env('DK', 32)];

/** [what it takes out, substitutions]. */
type Strip = [string, Sub[]];

// A uniform the compiler cannot decide (B > 0): a loop or block guarded by it never runs, but stays in the program.
const never = ' && p.B == 0u';
const ALL_STRIPS: Strip[] = [
  ['nothing (the real kernel)', []],
  ['streamed global loads (fetch_rows returns register values)', [[
    'if (it < BK * (DK / 4u) && t < p.T) { x[v] = fetch4(which, (base + t * p.sT + (it % (DK / 4u)) * 4u) / 4u); }',
    // (the loads stay in the program behind a condition that is never true, so that every binding stays in use)
    'x[v] = vec4<f32>(f32(t), f32(it), f32(which), 1.0);\n    if (p.B == 0u) { x[v] = fetch4(which, it); }']]],
  ['streamed loads and their workgroup stores (put_rows)', [[
    'for (var v = 0u; v < NV; v++) {\n    let it = li + v * WG;\n    if (it < BK * (DK / 4u)) {',
    `for (var v = 0u; v < NV; v++) {\n    let it = li + v * WG;\n    if (it < BK * (DK / 4u)${never}) {`]]],
  ['the exps (elementwise phase keeps its loads, selects and stores)', [[/exp\(f4\(sTile \+ c\) \* p\.scale - (?:f4\([^)]*\)|[^)]*)\)/g, 'f4(sTile + c)']]],
  ['the elementwise phases (every per-element loop)', [[/for \(var i = 0u; i < BK \/ 8u; i\+\+\) \{/g, `for (var i = 0u; i < BK / 8u${never}; i++) {`]]],
  ['the barriers inside the block loops', [[/\n {4}workgroupBarrier\(\);/g, '']]],
  ['the score products (S, dP: matrix loads, MMAs, stores to workgroup memory)', [['if (j >= jlo && j < jhi) {', `if (j >= jlo && j < jhi${never}) {`]]],
  ['the output products (P·V, dS·K, Pᵀ·dO and dSᵀ·Q)', [
    [/for \(var j = 0u; j < nj; j\+\+\) \{/g, `for (var j = 0u; j < nj${never}; j++) {`],
    ['for (var j = jlo; j < jhi; j++) {', `for (var j = jlo; j < jhi${never}; j++) {`]]],
  ['backward_key: the row statistics loads (lse, D) per block', [[
    'x[v] = vec2<f32>(lse[rows + t], dsum[rows + t]);',
    'x[v] = vec2<f32>(f32(t), 0.5);\n    if (p.B == 0u) { x[v] = vec2<f32>(lse[rows + t], dsum[rows + t]); }']]],
  ['the result stores (emit_*)', [[/fn emit_(\w+)\((.*)\) \{\n {2}stage\(m, sg\);/g, `fn emit_$1($2) {\n  if (p.B != 0u) { return; }\n  stage(m, sg);`]]],
  ['nothing (the real kernel, again)', []],
];

const STRIPS = process.env.REAL === '1' ? ALL_STRIPS.slice(0, 1) : ALL_STRIPS;
const PASSES = ['forward', 'backward_query', 'dsum', 'backward_key', 'backward_dq'];

const strip = (src: string, subs: Sub[], what: string): string => stripKernel(src, subs, what, 'attention-probe');

// TILES='forward:8,32;backward_query:2,16;backward_key:2,16' (a pass left out keeps its default).
const tiles: Partial<Record<AttentionPass, F16AttentionTile>> = {};
for (const spec of (process.env.TILES ?? '').split(';').filter(Boolean)) {
  const [pass, nb] = spec.split(':');
  const [NSG, BK] = nb.split(',').map(Number);
  tiles[pass as AttentionPass] = { NSG, BK };
}

async function main(): Promise<void> {
  // Every stripped text first, so that a stale substitution stops the probe before the GPU is opened.
  const src = generateAttentionF16();
  const texts = STRIPS.map(([what, subs]) => strip(src, subs, what));
  const gpu = await openGpu();
  const d = gpu.device;
  process.stdout.write(`adapter: ${describeGpu(gpu.info)}; B ${B} H ${H} T ${T} dk ${DK}; toggles ${process.env.LMWB_DAWN_TOGGLES ?? '-'}; tiles ${JSON.stringify(tiles)}\n`);
  if (!hasF16TensorCores(d)) { process.stdout.write('attention-probe: this adapter has no f16 subgroup matrices; nothing to probe\n'); gpu.destroy(); return; }
  setF16AttentionTiles(tiles);
  const s = projectionLayout(B, T, H, DK);
  const n = B * H * T * DK;
  const rows = B * H * T;
  const rng = rngFor(1, 7);
  const mk = (label: string, len: number, fill: boolean): Tensor => {
    const t = createTensor(d, [len], label);
    if (fill) upload(d, t, Float32Array.from({ length: len }, () => normal(rng)));
    return t;
  };
  const [q, k, v, dout] = ['q', 'k', 'v', 'dout'].map((l) => mk(l, n, true));
  const [out, dq, dk, dv] = ['out', 'dq', 'dk', 'dv'].map((l) => mk(l, n, false));
  const [lse, dsum] = ['lse', 'dsum'].map((l) => mk(l, rows, false));
  const dsT = process.env.DS === '0' ? undefined : createTensor(d, [dsScratchElements({ B, H, T })], 'dsT', 'f16');
  const kernels = { ...f32Kernels(d), attention: 'f16' as const };
  let ref: Float32Array[] | undefined;
  process.stdout.write(`| taken out | ${PASSES.map((x) => `${x} ms`).join(' | ')} | total ms | max abs diff vs the real kernel (checked rows) |\n|${'---|'.repeat(PASSES.length + 3)}\n`);
  for (const [i, [what]] of STRIPS.entries()) {
    overrideKernelText('attention_f16', texts[i]);
    d.pushErrorScope('validation');
    const prog = new Program(d, kernels);
    attentionForward(prog, s, q, k, v, out, lse);
    attentionBackward(prog, s, q, k, v, out, lse, dout, { dq, dk, dv, dsum, dsT });
    prog.submit();
    await gpu.sync();
    const error = await d.popErrorScope();
    if (error) { process.stdout.write(`| ${what} | error: ${error.message.split('\n')[0].slice(0, 200)} |\n`); prog.destroy(); continue; }
    let diff = '';
    if (what.startsWith('nothing') || what.startsWith('variant')) {
      const got = await Promise.all([out, lse, dq, dk, dv].map((t) => download(d, t)));
      if (!ref) ref = got;
      else diff = Math.max(...got.map((g, i) => g.reduce((m, x, j) => Math.max(m, Math.abs(x - ref![i][j])), 0))).toExponential(2);
    }
    // Warm the clocks (they drop while pipelines compile), then GPU timestamps over 10 runs.
    for (const w0 = performance.now(); performance.now() - w0 < 300;) { prog.submit(); await gpu.sync(); }
    const r = await profileProgram(d, prog, 10);
    const ms = (label: string): number => r.kernels.filter((x) => x.label.includes(label)).reduce((a, x) => a + x.ms, 0);
    const times = PASSES.map((x) => ms(`:${x}`));
    process.stdout.write(`| ${what} | ${times.map((x) => x.toFixed(3)).join(' | ')} | ${times.reduce((a, x) => a + x, 0).toFixed(3)} | ${diff} |\n`);
    prog.destroy();
  }
  overrideKernelText('attention_f16', undefined);
  gpu.destroy();
}

void main().catch((e: unknown) => { process.stderr.write(`${(e as Error).stack ?? String(e)}\n`); process.exit(1); });
