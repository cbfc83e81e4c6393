// rmsnorm.wgsl: RMSNorm forward (also saves 1/rms per row) and backward for input and gain (four values at a time
// where D and the tensors' alignment allow vec4 accesses).
import { type Program, rowGrid } from '../gpu/program';
import { bind, bindF16, type Tensor } from '../gpu/tensor';

export interface RmsNormArgs { rows: number; D: number; eps: number }

/** Whether the four-at-a-time entries (vec4 accesses) take these tensors: D a multiple of 4, every tensor 16-byte aligned (f16 ones 8). */
function by4(a: RmsNormArgs, f32s: Tensor[], f16s: Array<Tensor | undefined> = []): boolean {
  return a.D % 4 === 0 && f32s.every((t) => t.byteOffset % 16 === 0) && f16s.every((t) => !t || t.byteOffset % 8 === 0);
}

/** A bindings array with these entries at their binding numbers (holes elsewhere). */
function at(entries: Record<number, GPUBufferBinding | GPUBuffer | undefined>): Array<GPUBufferBinding | GPUBuffer | undefined> {
  const out: Array<GPUBufferBinding | GPUBuffer | undefined> = [];
  for (const [i, b] of Object.entries(entries)) out[Number(i)] = b;
  return Array.from(out);
}

export function rmsnormForward(prog: Program, a: RmsNormArgs, x: Tensor, w: Tensor, y: Tensor, r: Tensor, label = 'rmsnorm_forward'): void {
  const params = prog.uniform([['u32', a.rows], ['u32', a.D], ['f32', a.eps], ['u32', 0]]);
  if (by4(a, [x, w, y])) {
    prog.dispatch({ file: 'rmsnorm', entry: 'rmsnorm_forward4', label, bindings: at({ 0: params, 4: bind(r), 11: bind(x), 12: bind(w), 13: bind(y) }), workgroups: rowGrid(a.rows) });
    return;
  }
  prog.dispatch({ file: 'rmsnorm', entry: 'rmsnorm_forward', label, bindings: [params, bind(x), bind(w), bind(y), bind(r)], workgroups: rowGrid(a.rows) });
}

/**
 * The forward writing y only as an f16 tensor (the GEMM operand in mixed precision): the values of rmsnormForward
 * then cast.wgsl, bit for bit, in one pass. D must be even (two halves per u32, never straddling rows).
 */
export function rmsnormForwardHalf(prog: Program, a: RmsNormArgs, x: Tensor, w: Tensor, y16: Tensor, r: Tensor, label = 'rmsnorm_forward_half'): void {
  if (a.D % 2 !== 0) throw new Error(`rmsnorm f16 output: D must be even (got ${a.D})`);
  const params = prog.uniform([['u32', a.rows], ['u32', a.D], ['f32', a.eps], ['u32', 0]]);
  if (by4(a, [x, w], [y16])) {
    const b = at({ 0: params, 4: bind(r), 11: bind(x), 12: bind(w), 16: bindF16(y16, a.rows * a.D, 8) });
    prog.dispatch({ file: 'rmsnorm', entry: 'rmsnorm_forward_half4', label, bindings: b, workgroups: rowGrid(a.rows) });
    return;
  }
  prog.dispatch({
    file: 'rmsnorm', entry: 'rmsnorm_forward_half', label,
    bindings: [params, bind(x), bind(w), undefined, bind(r), undefined, undefined, undefined, undefined, undefined, bindF16(y16, a.rows * a.D)],
    workgroups: rowGrid(a.rows),
  });
}

/**
 * dx (+)= d rmsnorm / dx applied to dy. With `dx16` (mixed precision; D even) the f16 copy of the resulting dx is
 * written too, bit for bit what cast.wgsl would make of it.
 */
export function rmsnormBackwardInput(prog: Program, a: RmsNormArgs, x: Tensor, w: Tensor, dy: Tensor, r: Tensor, dx: Tensor, accumulate: boolean, label = 'rmsnorm_backward_input', dx16?: Tensor): void {
  if (dx16 && a.D % 2 !== 0) throw new Error(`rmsnorm f16 output: D must be even (got ${a.D})`);
  const params = prog.uniform([['u32', a.rows], ['u32', a.D], ['f32', a.eps], ['u32', accumulate ? 1 : 0]]);
  if (by4(a, [x, w, dy, dx], [dx16])) {
    const b = at({ 0: params, 6: bind(r), 11: bind(x), 12: bind(w), 14: bind(dy), 15: bind(dx), 16: dx16 ? bindF16(dx16, a.rows * a.D, 8) : undefined });
    prog.dispatch({ file: 'rmsnorm', entry: dx16 ? 'rmsnorm_backward_input_half4' : 'rmsnorm_backward_input4', label: dx16 ? `${label}_half` : label, bindings: b, workgroups: rowGrid(a.rows) });
    return;
  }
  prog.dispatch({
    file: 'rmsnorm', entry: dx16 ? 'rmsnorm_backward_input_half' : 'rmsnorm_backward_input', label: dx16 ? `${label}_half` : label,
    bindings: [params, bind(x), bind(w), undefined, undefined, bind(dy), bind(r), bind(dx), undefined, undefined, dx16 ? bindF16(dx16, a.rows * a.D) : undefined],
    workgroups: rowGrid(a.rows),
  });
}

export const RMSNORM_ROWS_PER_CHUNK = 128;

/** Floats of scratch rmsnormBackwardWeight needs for `rows` × `D`. */
export function rmsnormPartialSize(rows: number, D: number): number {
  return Math.ceil(rows / RMSNORM_ROWS_PER_CHUNK) * D;
}

/** dw (+)= Σ_rows dy·x·r, through `partial` scratch of rmsnormPartialSize floats. */
export function rmsnormBackwardWeight(prog: Program, a: RmsNormArgs, x: Tensor, dy: Tensor, r: Tensor, dw: Tensor, partial: Tensor, accumulate = false, label = 'rmsnorm_backward_weight'): void {
  const params = prog.uniform([['u32', a.rows], ['u32', a.D], ['f32', a.eps], ['u32', accumulate ? 1 : 0]]);
  const blocks = Math.ceil(a.D / 64);
  prog.dispatch({
    file: 'rmsnorm', entry: 'rmsnorm_backward_weight_partial', label: `${label}_partial`,
    bindings: [params, bind(x), undefined, undefined, undefined, bind(dy), bind(r), undefined, undefined, bind(partial)],
    workgroups: [blocks, Math.ceil(a.rows / RMSNORM_ROWS_PER_CHUNK)],
  });
  prog.dispatch({
    file: 'rmsnorm', entry: 'rmsnorm_backward_weight_reduce', label: `${label}_reduce`,
    bindings: [params, undefined, undefined, undefined, undefined, undefined, undefined, undefined, bind(dw), bind(partial)],
    workgroups: [blocks],
  });
}
