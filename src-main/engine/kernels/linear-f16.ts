// linear_f16.wgsl: the three linear GEMMs on tensor cores (Dawn's chromium-experimental-subgroup-matrix), with f32
// or f16 operands in memory (A and B each), f16 products and f32 accumulation into an f32 output. Used by linear.ts
// in programs recorded with the f16 linear kernels (Program.kernels.linear). linear_f16_direct.wgsl (both operands
// f16, loaded by the subgroup-matrix loads straight from storage) is an opt-in experiment (LMWB_F16_DIRECT=1): it
// measured 2-3x slower on the H200 (BENCHMARKS.md, GEMM round 3), so it is off by default.
import type { Program } from '../gpu/program';
import type { Defines } from '../gpu/shaders';
import { alignUp, byteLength, type Tensor } from '../gpu/tensor';

export type GemmEntry = 'linear_forward' | 'linear_backward_input' | 'linear_backward_weight';

export interface Gemm {
  entry: GemmEntry;
  A: Tensor; B: Tensor; C: Tensor;
  M: number; N: number; K: number;
  lda: number; ldb: number; ldc: number;
  offA?: number; offB?: number; offC?: number;
  accumulate?: boolean;
  label: string;
  /**
   * A as blocks of one buffer (a fused GEMM over tensors allocated together, e.g. dq, dk, dv): A's inner coordinate
   * (k for backward_input, m for backward_weight) in blocks of `size`, block j at j·stride elements. f16 kernels only.
   */
  aBlocks?: Blocks;
  /** C's columns in blocks of `size`, block j at j·stride elements (forward into q, k, v). Not with split-K. */
  cBlocks?: Blocks;
  /**
   * C = residual + A·B (linear_forward only, laid out like C; not with accumulate, C blocks or split-K: ask
   * residualFits first): the residual add fused into the GEMM (RES in linear_f16.wgsl).
   */
  residual?: Tensor;
}

/** A coordinate split into blocks of `size` elements, block j starting `stride` elements after block 0. */
export interface Blocks { size: number; stride: number }

/** Workgroup tile TM×TN from SR×SC subgroups of FI×FJ 16×16 accumulators; K step KS; workgroup-memory row padding PAD. */
export interface F16Tile {
  TM: number; TN: number; SR: number; SC: number; FI: number; FJ: number; KS: number; PAD: number;
}

export function tile(TM: number, TN: number, SR: number, SC: number, KS = 32, PAD = 8): F16Tile {
  const FI = TM / SR / 16;
  const FJ = TN / SC / 16;
  if (!Number.isInteger(FI) || !Number.isInteger(FJ) || FI < 1 || FI > 4 || FJ < 1 || FJ > 8) throw new Error(`bad f16 tile ${TM}x${TN} ${SR}x${SC}`);
  const WG = SR * SC * 32;
  // Every thread loads whole groups of 8 elements (f16 operands) or 4 (f32) per tile.
  if ((TM * KS) % (8 * WG) !== 0 || (TN * KS) % (8 * WG) !== 0 || KS % 16 !== 0) throw new Error(`bad f16 tile ${TM}x${TN} ${SR}x${SC} KS ${KS}`);
  return { TM, TN, SR, SC, FI, FJ, KS, PAD };
}

/** "TM,TN,SR,SC[,KS]" */
export function parseTile(spec: string): F16Tile {
  const [TM, TN, SR, SC, KS] = spec.split(',').map(Number);
  return tile(TM, TN, SR, SC, KS || 32);
}

/** LMWB_F16_TILE (forward, backward_input) and LMWB_F16_TILE_BW (backward_weight): tuning experiments in the full step. */
function envTile(entry: GemmEntry): F16Tile | undefined {
  const e = entry === 'linear_backward_weight' ? process.env.LMWB_F16_TILE_BW ?? process.env.LMWB_F16_TILE : process.env.LMWB_F16_TILE;
  return e ? parseTile(e) : undefined;
}

/**
 * Default tile (the fastest of those tried on the H100 at the CS336 shapes: BENCHMARKS.md, "Matmul"): 256×128 from
 * 4×2 subgroups of 64×64 each, or from 8×2 subgroups of 32×64 for backward_weight; 128×128 (4×2 subgroups of
 * 32×64) and 64×128 for short GEMMs.
 */
export function chooseTile(M: number, _N: number, _K: number, entry: GemmEntry = 'linear_forward', halfOperands = false): F16Tile {
  const fromEnv = envTile(entry);
  if (fromEnv) return fromEnv;
  if (M <= 64) return tile(64, 128, 2, 2);
  if (M <= 128) return tile(128, 128, 4, 2);
  // f16 operands (BENCHMARKS.md, tile sweep): 128×128 from 2×2 subgroups of 64×64 for forward and backward_input,
  // 256×128 from 8×2 subgroups of 32×64 for backward_weight.
  if (halfOperands) return entry === 'linear_backward_weight' ? tile(256, 128, 8, 2) : tile(128, 128, 2, 2);
  return entry === 'linear_backward_weight' ? tile(256, 128, 8, 2) : tile(256, 128, 4, 2);
}

/**
 * Split-K: K is split until the GPU has enough workgroups: 2 per SM of a 132-SM H100/H200 (264) for forward and
 * backward_input, 4 per SM (528) for backward_weight, whose GEMMs have few output tiles and a long K (32768 rows at
 * batch 128). On the H200 the step's five weight-gradient GEMMs and their reduces went from 7.4 to 6.3 ms of GPU
 * time with 528 in place of 264 (BENCHMARKS.md, "GEMM round 9"; 1056 was slower again: more partial sums to add).
 * At least MIN_K_PER_SPLIT of K per split. LMWB_F16_SPLIT_TARGET, LMWB_F16_SPLIT_TARGET_BW and LMWB_F16_SPLIT_MIN_K
 * set others (benchmarks).
 */
const TARGET_WORKGROUPS = Number(process.env.LMWB_F16_SPLIT_TARGET ?? 264);
const TARGET_WORKGROUPS_BW = Number(process.env.LMWB_F16_SPLIT_TARGET_BW ?? 528);
const MIN_K_PER_SPLIT = Number(process.env.LMWB_F16_SPLIT_MIN_K ?? 256);
const MAX_SCRATCH_BYTES = 128 * 2 ** 20;

export function chooseSplits(t: F16Tile, M: number, N: number, K: number, entry: GemmEntry = 'linear_forward'): { splits: number; kChunk: number } {
  const tiles = Math.ceil(M / t.TM) * Math.ceil(N / t.TN);
  const target = entry === 'linear_backward_weight' ? TARGET_WORKGROUPS_BW : TARGET_WORKGROUPS;
  let splits = Math.max(1, Math.min(Math.ceil(target / tiles), Math.floor(K / MIN_K_PER_SPLIT), Math.floor(MAX_SCRATCH_BYTES / (M * N * 4))));
  const kChunk = alignUp(Math.ceil(K / splits), t.KS);
  splits = Math.ceil(K / kChunk);
  return splits > 1 ? { splits, kChunk } : { splits: 1, kChunk: Math.max(K, 1) };
}

/** Binding of a tensor read as array<vec4<f32>> (8 halves per vec4 for f16 tensors): its size rounded up to 16 bytes (tensors start 256-aligned in 16-aligned buffers). */
function bindVec4(t: Tensor): GPUBufferBinding {
  const size = Math.min(alignUp(Math.max(16, byteLength(t)), 16), t.buffer.size - t.byteOffset);
  return { buffer: t.buffer, offset: t.byteOffset, size };
}

/** The output binding: at least 1 KiB, the size Dawn asks for where whole 16×16 f32 tiles are stored (linear.ts checks it fits). */
function bindOut(t: Tensor): GPUBufferBinding {
  return { buffer: t.buffer, offset: t.byteOffset, size: Math.min(Math.max(1024, byteLength(t)), t.buffer.size - t.byteOffset) };
}

const alignedTo = (e: number, ...xs: number[]): boolean => xs.every((x) => x % e === 0);

/** The block defines of a GEMM over plain operands. */
export const NO_BLOCKS = { KBA: 0, BSA: 0, NBC: 0, BSC: 0 };

/**
 * Loop structure of linear_f16.wgsl: FL, an interior tile runs a copy of the K loop with no bounds checks
 * (LMWB_F16_FASTLOOP=0 turns it off); BO, the products take one right block at a time (LMWB_F16_BONE=0 turns it
 * off). Together 38.5 → 33.0 ms of step time on the H200 (BENCHMARKS.md, "GEMM round 6"); same values bit for bit.
 */
export function loopDefines(): { FL: boolean; BO: boolean } {
  return { FL: process.env.LMWB_F16_FASTLOOP !== '0', BO: process.env.LMWB_F16_BONE !== '0' };
}

/**
 * CLD LDA LDB LDC: the leading dimensions written into the kernel as constants, so the compiler knows them (one
 * pipeline per shape; on the H200 the step's GPU time went from 41.5 to 38.7 ms and a 32768×1536×512 GEMM from 134
 * to 158 TFLOP/s: BENCHMARKS.md, "GEMM round 4"). LMWB_F16_CONST_LD=0 reads them from Params instead (fewer
 * pipelines: the llvmpipe tests, where each pipeline compiles slowly, use it for most cases).
 */
function leadingDims(lda: number, ldb: number, ldc: number): { CLD: boolean; LDA: number; LDB: number; LDC: number } {
  return process.env.LMWB_F16_CONST_LD === '0' ? { CLD: false, LDA: 0, LDB: 0, LDC: 0 } : { CLD: true, LDA: lda, LDB: ldb, LDC: ldc };
}

/**
 * Tile of linear_f16_direct.wgsl (f16 operands loaded by the subgroup-matrix loads straight from the storage
 * buffers): TM×TN from SR×SC subgroups of FI×FJ 16×16 accumulators; K moves 16 at a time.
 */
export interface DirectTile { TM: number; TN: number; SR: number; SC: number; FI: number; FJ: number }

/** The largest accumulator grid linear_f16_direct.wgsl spells out (kernels/gen/linear_f16_direct.ts). */
const DIRECT_MAX_F = 5;

export function directTile(TM: number, TN: number, SR: number, SC: number): DirectTile {
  const FI = TM / SR / 16;
  const FJ = TN / SC / 16;
  if (!Number.isInteger(FI) || !Number.isInteger(FJ) || FI < 1 || FJ < 1 || FI > DIRECT_MAX_F || FJ > DIRECT_MAX_F || SR * SC > 8) {
    throw new Error(`bad direct f16 tile ${TM}x${TN} ${SR}x${SC}`);
  }
  return { TM, TN, SR, SC, FI, FJ };
}

/** "TM,TN,SR,SC" */
export function parseDirectTile(spec: string): DirectTile {
  const [TM, TN, SR, SC] = spec.split(',').map(Number);
  return directTile(TM, TN, SR, SC);
}

/**
 * Subgroup grids and workgroup shapes the direct kernel is tried with, best first: 64×64 per subgroup (16
 * accumulators), then the 80-wide grids that divide the 10000-wide LM head, then smaller ones. Two register sets of
 * operands (FI + FJ blocks each) plus FI·FJ accumulators must fit the registers, hence no 80×80.
 */
const DIRECT_GRIDS: Array<[number, number]> = [[4, 4], [4, 5], [5, 4], [4, 2], [2, 4], [5, 2], [2, 5], [2, 2], [1, 4], [4, 1], [1, 5], [5, 1], [1, 2], [2, 1], [1, 1]];
const DIRECT_SHAPES: Array<[number, number]> = [[2, 2], [2, 1], [1, 2], [1, 1]];

/** LMWB_F16_DIRECT_TILE: one direct tile for every GEMM it covers exactly (experiments). */
function envDirectTile(): DirectTile | undefined {
  const e = process.env.LMWB_F16_DIRECT_TILE;
  return e ? parseDirectTile(e) : undefined;
}

/** Whether a direct tile covers C exactly (the direct kernel checks no bounds). */
export function directFits(t: DirectTile, M: number, N: number, K: number): boolean {
  return M % t.TM === 0 && N % t.TN === 0 && K % 16 === 0;
}

/** The direct kernel's tile for an M×N×K GEMM with f16 operands, or undefined where none covers C exactly. */
export function chooseDirectTile(M: number, N: number, K: number): DirectTile | undefined {
  const fromEnv = envDirectTile();
  if (fromEnv) return directFits(fromEnv, M, N, K) ? fromEnv : undefined;
  if (K % 16 !== 0) return undefined;
  for (const [FI, FJ] of DIRECT_GRIDS) {
    for (const [SR, SC] of DIRECT_SHAPES) {
      const t = directTile(16 * FI * SR, 16 * FJ * SC, SR, SC);
      if (directFits(t, M, N, K)) return t;
    }
  }
  return undefined;
}

/** Whether the direct kernel is used by default for f16 operands (LMWB_F16_DIRECT=0/1 overrides). */
const DIRECT_BY_DEFAULT = false;
function directEnabled(): boolean {
  const e = process.env.LMWB_F16_DIRECT;
  return e === undefined || e === '' ? DIRECT_BY_DEFAULT : e !== '0';
}

export interface F16Options {
  /** Override the tile (benchmarks). */
  tile?: F16Tile;
  /** Benchmarks: the direct kernel with this tile (must cover C exactly), or false for linear_f16.wgsl. */
  direct?: DirectTile | false;
  /** Override the number of K splits (benchmarks); 1 disables split-K. */
  splits?: number;
}

let testTile: F16Tile | undefined;
/** Tests: use this tile for every call (undefined: the default choice). */
export function setF16TileForTests(t: F16Tile | undefined): void {
  testTile = t;
}

export function gemmF16(prog: Program, g: Gemm, o: F16Options = {}): void {
  const { M, N, K } = g;
  if (M === 0 || N === 0) return;
  const ta = g.entry === 'linear_backward_weight';
  const tb = g.entry === 'linear_forward';
  const offA = g.offA ?? 0;
  const offB = g.offB ?? 0;
  const HA = g.A.dtype === 'f16';
  const HB = g.B.dtype === 'f16';
  if (g.C.dtype !== 'f32') throw new Error(`linear f16: the output ${g.C.label} must be f32`);
  if (HA && HB && o.tile === undefined && testTile === undefined && !g.aBlocks && !g.cBlocks && !g.residual) {
    const dt = o.direct === undefined ? (directEnabled() ? chooseDirectTile(M, N, K) : undefined) : o.direct || undefined;
    if (dt) {
      if (!directFits(dt, M, N, K)) throw new Error(`linear f16: direct tile ${dt.TM}x${dt.TN} does not cover ${M}x${N}x${K}`);
      gemmF16Direct(prog, g, dt, o.splits);
      return;
    }
  }
  const t = o.tile ?? testTile ?? chooseTile(M, N, K, g.entry, HA || HB);
  const split = g.cBlocks ? { splits: 1, kChunk: Math.max(K, 1) } : o.splits !== undefined ? forcedSplit(K, t.KS, o.splits) : chooseSplits(t, M, N, K, g.entry);
  checkBlocks(g, t, HA);
  if (g.residual && (g.entry !== 'linear_forward' || g.accumulate || g.cBlocks || split.splits > 1)) {
    throw new Error(`linear f16 ${g.label}: a fused residual needs a forward GEMM without accumulate, C blocks or split-K (residualFits)`);
  }
  const base = {
    ...t,
    VA: alignedTo(HA ? 8 : 4, ta ? M : K, g.lda, offA),
    VB: alignedTo(HB ? 8 : 4, tb ? K : N, g.ldb, offB),
    HA,
    HB,
    KBA: g.aBlocks?.size ?? 0, BSA: g.aBlocks?.stride ?? 0, NBC: g.cBlocks?.size ?? 0, BSC: g.cBlocks?.stride ?? 0,
    ...loopDefines(),
    RES: !!g.residual,
  };
  // The output's leading dimension is the partials' N under split-K.
  // linear_f16.wgsl's GEMMs also bind R (binding 4): the residual of a fused residual add, else A as a stand-in.
  const r = g.residual ? bindOut(g.residual) : bindVec4(g.A);
  recordGemm(prog, g, 'linear_f16', (ldc) => ({ ...base, ...leadingDims(g.lda, g.ldb, ldc) }), split, [Math.ceil(N / t.TN), Math.ceil(M / t.TM)], '', [r]);
}

/**
 * Why the GEMM's blocks do not fit (or undefined). The kernel maps every vector it loads and every 16-column result
 * block it stores through the blocks on its own (inner_a, col_c), so a tile or a K step may straddle two blocks (w1|w3
 * at d_ff 1344 with 128-wide tiles); what may not straddle is one vector load (A blocks: multiples of the vector
 * width) and one 16-column store (C blocks: multiples of 16). C blocks narrower than the tile stay unfused (one
 * GEMM per block, as before straddling was allowed: a tile over three or more blocks buys little, and the emulated
 * tests' pipelines, slow to compile on llvmpipe, stay those they were timed with).
 */
function blocksProblem(g: Gemm, t: F16Tile, HA: boolean): string | undefined {
  if (g.aBlocks) {
    const { size, stride } = g.aBlocks;
    if (g.entry === 'linear_forward') return 'A blocks are for backward_input and backward_weight';
    const w = HA ? 8 : 4;
    if (size <= 0 || size % w !== 0 || stride % w !== 0) return `A blocks of ${size} (stride ${stride}) must be multiples of the vector width ${w}`;
  }
  if (g.cBlocks) {
    const { size, stride } = g.cBlocks;
    if (g.entry !== 'linear_forward') return 'C blocks are for forward';
    if (size < t.TN || size % 16 !== 0 || stride % 4 !== 0) return `C blocks of ${size} (stride ${stride}) must be multiples of the 16-column result block and at least the tile width ${t.TN}`;
  }
  return undefined;
}

function checkBlocks(g: Gemm, t: F16Tile, HA: boolean): void {
  const why = blocksProblem(g, t, HA);
  if (why) throw new Error(`linear f16 ${g.label}: ${why}`);
}

/**
 * Whether gemmF16 can fuse a residual add into this forward GEMM (Gemm.residual): the tensor-core GEMM without a K
 * split (the partial sums would each add it), and not turned off with LMWB_F16_RESIDUAL=0 (comparisons).
 */
export function residualFits(g: Gemm): boolean {
  if (process.env.LMWB_F16_RESIDUAL === '0' || g.entry !== 'linear_forward' || g.accumulate || g.cBlocks) return false;
  const half = g.A.dtype === 'f16' || g.B.dtype === 'f16';
  return chooseSplits(testTile ?? chooseTile(g.M, g.N, g.K, g.entry, half), g.M, g.N, g.K).splits === 1;
}

/** Whether gemmF16 takes this GEMM's blocks with the tile it would choose (fused GEMMs fall back to one per block otherwise). */
export function f16BlocksFit(g: Gemm): boolean {
  const half = g.A.dtype === 'f16' || g.B.dtype === 'f16';
  return blocksProblem(g, testTile ?? chooseTile(g.M, g.N, g.K, g.entry, half), g.A.dtype === 'f16') === undefined;
}

/** A K split forced by a benchmark: `splits` ranges of whole K steps (1 or fewer: no split). */
function forcedSplit(K: number, KS: number, splits: number): { splits: number; kChunk: number } {
  const kChunk = alignUp(Math.ceil(K / Math.max(1, splits)), KS);
  return splits > 1 && kChunk < K ? { splits: Math.ceil(K / kChunk), kChunk } : { splits: 1, kChunk: Math.max(K, 1) };
}

/** linear_f16_direct.wgsl: both operands f16, C covered exactly by the tile grid (split-K as in gemmF16). */
function gemmF16Direct(prog: Program, g: Gemm, t: DirectTile, forcedSplits?: number): void {
  const split = forcedSplits !== undefined ? forcedSplit(g.K, 16, forcedSplits) : chooseSplits({ ...t, KS: 16, PAD: 0 }, g.M, g.N, g.K, g.entry);
  const defines = { TM: t.TM, TN: t.TN, SR: t.SR, SC: t.SC, FI: t.FI, FJ: t.FJ };
  recordGemm(prog, g, 'linear_f16_direct', () => defines, split, [g.N / t.TN, g.M / t.TM], 'direct', []);
}

/**
 * One GEMM of linear_f16.wgsl or linear_f16_direct.wgsl (one Params layout): straight into C, or with split-K the
 * partial products into scratch[z][M][N] and then one pass that adds them into C. `defines(ldc)` gives the kernel's
 * defines for an output of leading dimension ldc; `tag` goes into the labels; `extra`: bindings after C (binding 4 on).
 */
function recordGemm(prog: Program, g: Gemm, file: string, defines: (ldc: number) => Defines, split: { splits: number; kChunk: number }, tiles: [number, number], tag: string, extra: GPUBufferBinding[]): void {
  const { M, N, K } = g;
  const grid: [number, number, number] = [...tiles, split.splits];
  // The last two fields are an operand scale and its inverse that linear_f16.wgsl still declares; always 1 (loss
  // scaling keeps small gradients representable in f16 instead).
  const params = (ldc: number, offC: number, accumulate: boolean, splitStride: number): GPUBuffer => prog.uniform([
    ['u32', M], ['u32', N], ['u32', K], ['u32', g.lda], ['u32', g.ldb], ['u32', ldc],
    ['u32', g.offA ?? 0], ['u32', g.offB ?? 0], ['u32', offC], ['u32', accumulate ? 1 : 0],
    ['u32', split.kChunk], ['u32', splitStride], ['f32', 1], ['f32', 1],
  ], `${g.label} params`);
  if (split.splits === 1) {
    prog.dispatch({
      file, entry: g.entry, defines: defines(g.ldc), label: tag ? `${g.label} (${tag})` : g.label,
      bindings: [params(g.ldc, g.offC ?? 0, !!g.accumulate, 0), bindVec4(g.A), bindVec4(g.B), bindOut(g.C), ...extra], workgroups: grid,
    });
    return;
  }
  const part = M * N;
  const buf = prog.scratch.get('linear_f16 split-K scratch', split.splits * part * 4);
  const scratchT: Tensor = { buffer: buf, byteOffset: 0, shape: [split.splits, M, N], dtype: 'f32', label: 'split-K scratch' };
  prog.dispatch({
    file, entry: g.entry, defines: defines(N), label: `${g.label} (${tag ? `${tag}, ` : ''}split-K ${split.splits})`,
    bindings: [params(N, 0, false, part), bindVec4(g.A), bindVec4(g.B), bindOut(scratchT), ...extra], workgroups: grid,
  });
  splitkReduce(prog, g, scratchT, split.splits, part);
}

/**
 * linear_f16.wgsl's linear_splitk_reduce: C (+)= the sum of the split-K partials; four outputs per invocation
 * (linear_splitk_reduce4, the same sums) where N, ldc, offC and the partials' stride are multiples of 4.
 */
function splitkReduce(prog: Program, g: Gemm, scratchT: Tensor, splits: number, part: number): void {
  const offC = g.offC ?? 0;
  const rparams = prog.uniform([
    ['u32', g.M], ['u32', g.N], ['u32', splits], ['u32', 0], ['u32', 0], ['u32', g.ldc],
    ['u32', 0], ['u32', 0], ['u32', offC], ['u32', g.accumulate ? 1 : 0],
    ['u32', 0], ['u32', part], ['f32', 1], ['f32', 1],
  ], `${g.label} params`);
  const by4 = alignedTo(4, g.N, g.ldc, offC, part);
  const groups = Math.ceil(part / (by4 ? 4 : 1) / 256);
  const gx = Math.min(groups, 65535);
  // The reduce reads Params only (its ldc is the output's), so one pipeline serves every shape.
  const defines = { ...tile(64, 128, 2, 2), VA: true, VB: true, HA: false, HB: false, CLD: false, LDA: 0, LDB: 0, LDC: 0, ...NO_BLOCKS, FL: false, BO: false, RES: false };
  prog.dispatch({
    file: 'linear_f16', entry: by4 ? 'linear_splitk_reduce4' : 'linear_splitk_reduce', defines, label: `${g.label} (split-K reduce)`,
    bindings: [rparams, bindVec4(scratchT), undefined, bindOut(g.C)], workgroups: [gx, Math.ceil(groups / gx)],
  });
}
