// attention_f16.wgsl: causal attention on tensor cores (Dawn's chromium-experimental-subgroup-matrix), with f32
// tensors in memory, f16 products with f32 accumulation and f32 softmax statistics. Same tensors and semantics as
// attention.wgsl; attention.ts dispatches here in programs recorded with the f16 attention kernels, where the shape is supported.
//   forward          one workgroup per (h, b, block of 16·NSG queries): lse and out
//   backward_query   one workgroup per (h, b, query block): dsum = rowsum(dout∘out), dq
//   backward_key     one workgroup per (h, b, block of 16·NSG keys): dk, dv (reads the dsum written just before)
// or, with the dS scratch (AttentionGrads.dsT, where T is a multiple of 16; BENCHMARKS.md "GEMM round 7"):
//   dsum             one thread per row: dsum = rowsum(dout∘out)
//   backward_key_ds  backward_key, also writing dSᵀ to dsT as f16
//   backward_dq      one workgroup per (h, b, query block): dq = scale · dS·k, dS read from dsT (no exps, no scores)
import type { Program } from '../gpu/program';
import { bind, numel, type Tensor } from '../gpu/tensor';
import type { AttentionGrads, AttentionShape } from './attention';

/** Head dims the f16 kernels take: multiples of 16 (whole subgroup matrices) up to 128. */
export const F16_MAX_HEAD_DIM = 128;

export type AttentionPass = 'forward' | 'backward_query' | 'backward_key' | 'backward_dq';
const PASS_ID: Record<AttentionPass, number> = { forward: 0, backward_query: 1, backward_key: 2, backward_dq: 3 };

/** NSG subgroups of 32 lanes per workgroup (16·NSG rows of the workgroup's own block); BK rows per streamed block. */
export interface F16AttentionTile { NSG: number; BK: number }

/** Workgroup memory of one pass in bytes; mirrors the H/F layout at the top of attention_f16.wgsl. */
export function f16AttentionWorkgroupBytes(pass: AttentionPass, dk: number, t: F16AttentionTile): number {
  const id = PASS_ID[pass];
  const BQ = 16 * t.NSG;
  const WG = 32 * t.NSG;
  const SH = dk + 8;
  const SS = t.BK + 4;
  const SP = t.BK + 8;
  const SQ = BQ + 8;
  const hLen = (id === 3 ? 0 : BQ * SH) + (id === 1 || id === 2 ? BQ * SH : 0) + t.BK * SH + (id === 3 ? t.BK * SQ : t.BK * SH) + (id === 2 ? 2 : 1) * t.NSG * 16 * SP + t.BK;
  const fLen = (id !== 0 ? 2 : 1) * t.NSG * 16 * SS + (id === 0 ? 2 * WG : id === 1 ? BQ : 2 * t.BK) + t.BK;
  const round16 = (n: number) => Math.ceil(n / 16) * 16;
  return round16(2 * hLen) + round16(4 * fLen);
}

/**
 * Tiles in order of preference (the first that fits the device's workgroup memory is used): the fastest on the H100
 * at the CS336 shape (dk 32) in `attention-bench --f16-sweep` (GPU timestamps, ms: forward 4×16 0.73, 8×32 0.73,
 * 2×16 0.84, 4×64 1.18; backward_query 2×16 0.92, 4×32 1.20; backward_key 2×16 1.20, 4×32 1.55, 2×32 2.88).
 * Small workgroup-memory footprints win: the kernels are latency-bound and gain from more resident workgroups.
 * On the H200 (2026-12-02, BENCHMARKS.md "GEMM round 4") the forward's 8×32 took 0.524 ms against 4×16's 0.570
 * (the H100's tie broken), so 8×32 comes first; the backward passes' 2×16 stayed the fastest there too.
 */
const PREFERRED: Record<AttentionPass, F16AttentionTile[]> = {
  forward: [{ NSG: 8, BK: 32 }, { NSG: 4, BK: 16 }, { NSG: 2, BK: 16 }, { NSG: 1, BK: 16 }],
  backward_query: [{ NSG: 2, BK: 16 }, { NSG: 1, BK: 16 }],
  backward_key: [{ NSG: 2, BK: 16 }, { NSG: 1, BK: 16 }],
  backward_dq: [{ NSG: 2, BK: 16 }, { NSG: 1, BK: 16 }],
};

let tileOverride: Partial<Record<AttentionPass, F16AttentionTile>> = {};
/** Benchmarks and tests: force the tile of some passes ({} restores the defaults). */
export function setF16AttentionTiles(t: Partial<Record<AttentionPass, F16AttentionTile>>): void {
  tileOverride = { ...t };
}

/** The tile a pass runs with on this device, or undefined when none fits its workgroup memory. */
export function f16AttentionTile(device: GPUDevice, pass: AttentionPass, dk: number): F16AttentionTile | undefined {
  const limit = device.limits.maxComputeWorkgroupStorageSize;
  const forced = tileOverride[pass];
  if (forced) {
    const bytes = f16AttentionWorkgroupBytes(pass, dk, forced);
    if (bytes > limit) throw new Error(`attention f16 ${pass}: tile NSG ${forced.NSG} BK ${forced.BK} needs ${bytes} bytes of workgroup memory (limit ${limit})`);
    return forced;
  }
  return PREFERRED[pass].find((t) => f16AttentionWorkgroupBytes(pass, dk, t) <= limit);
}

/**
 * Whether the f16 kernels take this shape on this device: head dim a multiple of 16 up to 128, strides that
 * allow vec4 access, and tiles that fit the workgroup memory. (Device features are checked where the kernels are
 * chosen: kernels/choice.ts.)
 */
export function f16AttentionShapeSupported(device: GPUDevice, s: AttentionShape): boolean {
  if (s.dk % 16 !== 0 || s.dk > F16_MAX_HEAD_DIM || s.dk === 0) return false;
  if (s.sB % 4 !== 0 || s.sH % 4 !== 0 || s.sT % 4 !== 0) return false;
  return (['forward', 'backward_query', 'backward_key'] as const).every((p) => f16AttentionTile(device, p, s.dk) !== undefined);
}

/** Elements of the dS scratch (f16) for this shape: B·H·T·T. */
export function dsScratchElements(s: { B: number; H: number; T: number }): number {
  return s.B * s.H * s.T * s.T;
}

/**
 * Whether the backward takes dq from the dS scratch: T a multiple of 16 (whole 16×16 blocks and 16-byte rows of
 * dS), a big enough f16 scratch, and a backward_dq tile that fits. LMWB_ATTN_DS=0 turns it off (comparisons).
 */
function dsPath(device: GPUDevice, s: AttentionShape, dsT: Tensor | undefined): dsT is Tensor {
  return dsT !== undefined && process.env.LMWB_ATTN_DS !== '0' && s.T % 16 === 0 && dsT.dtype === 'f16' &&
    numel(dsT.shape) >= dsScratchElements(s) && f16AttentionTile(device, 'backward_dq', s.dk) !== undefined;
}

function tileOf(device: GPUDevice, pass: AttentionPass, dk: number): F16AttentionTile {
  const t = f16AttentionTile(device, pass, dk);
  if (!t) throw new Error(`attention f16 ${pass}: no tile fits ${device.limits.maxComputeWorkgroupStorageSize} bytes of workgroup memory at head dim ${dk}`);
  return t;
}

function defines(pass: AttentionPass, dk: number, t: F16AttentionTile) {
  return { DK: dk, NSG: t.NSG, BK: t.BK, PASS: PASS_ID[pass] };
}

/** The Params uniform both attention kernels (attention.wgsl, attention_f16.wgsl) declare. */
export function attentionParams(prog: Program, s: AttentionShape): GPUBuffer {
  return prog.uniform([
    ['u32', s.B], ['u32', s.H], ['u32', s.T], ['u32', s.sB], ['u32', s.sH], ['u32', s.sT], ['f32', 1 / Math.sqrt(s.dk)], ['u32', 0],
  ], 'attention params');
}

const grid = (s: AttentionShape, t: F16AttentionTile): [number, number, number] => [s.H, s.B, Math.ceil(s.T / (16 * t.NSG))];

/** out = causal softmax(q·kᵀ/√dk)·v and lse, on tensor cores. */
export function attentionForwardF16(prog: Program, s: AttentionShape, q: Tensor, k: Tensor, v: Tensor, out: Tensor, lse: Tensor): void {
  const t = tileOf(prog.device, 'forward', s.dk);
  prog.dispatch({
    file: 'attention_f16', entry: 'attention_forward', defines: defines('forward', s.dk, t), label: 'attention_f16:forward',
    // binding 6 (dout) is named by the tile loader shared with the backward; the forward never reads it: q stands in
    bindings: [attentionParams(prog, s), bind(q), bind(k), bind(v), bind(out), bind(lse), bind(q)], workgroups: grid(s, t),
  });
}

/** dq, dk, dv from the forward's out and lse; g.dsum receives rowsum(dout∘out). */
export function attentionBackwardF16(prog: Program, s: AttentionShape, q: Tensor, k: Tensor, v: Tensor, out: Tensor, lse: Tensor, dout: Tensor, g: AttentionGrads): void {
  const u = attentionParams(prog, s);
  const tk = tileOf(prog.device, 'backward_key', s.dk);
  if (dsPath(prog.device, s, g.dsT)) {
    const tg = tileOf(prog.device, 'backward_dq', s.dk);
    const dg = defines('backward_dq', s.dk, tg);
    prog.dispatch({
      file: 'attention_f16', entry: 'attention_dsum', defines: dg, label: 'attention_f16:dsum',
      bindings: [u, undefined, undefined, undefined, bind(out), undefined, bind(dout), bind(g.dsum)], workgroups: [s.H, s.B, Math.ceil(s.T / (32 * tg.NSG))],
    });
    prog.dispatch({
      file: 'attention_f16', entry: 'attention_backward_key_ds', defines: defines('backward_key', s.dk, tk), label: 'attention_f16:backward_key',
      bindings: [u, bind(q), bind(k), bind(v), undefined, bind(lse), bind(dout), bind(g.dsum), undefined, bind(g.dk), bind(g.dv), bind(g.dsT)], workgroups: grid(s, tk),
    });
    prog.dispatch({
      file: 'attention_f16', entry: 'attention_backward_dq', defines: dg, label: 'attention_f16:backward_dq',
      bindings: [u, bind(q), bind(k), bind(v), undefined, undefined, bind(dout), undefined, bind(g.dq), undefined, undefined, bind(g.dsT)], workgroups: grid(s, tg),
    });
    return;
  }
  const tq = tileOf(prog.device, 'backward_query', s.dk);
  prog.dispatch({
    file: 'attention_f16', entry: 'attention_backward_query', defines: defines('backward_query', s.dk, tq), label: 'attention_f16:backward_query',
    bindings: [u, bind(q), bind(k), bind(v), bind(out), bind(lse), bind(dout), bind(g.dsum), bind(g.dq)], workgroups: grid(s, tq),
  });
  prog.dispatch({
    file: 'attention_f16', entry: 'attention_backward_key', defines: defines('backward_key', s.dk, tk), label: 'attention_f16:backward_key',
    bindings: [u, bind(q), bind(k), bind(v), undefined, bind(lse), bind(dout), bind(g.dsum), undefined, bind(g.dk), bind(g.dv)], workgroups: grid(s, tk),
  });
}
