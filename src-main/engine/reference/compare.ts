// Tolerance checks of the reference suite (shared/reference/README.md): forward values |a−b| ≤ atol + rtol·|b|;
// gradients |a−b| ≤ atol · max|b| (relative to the largest reference magnitude).
export interface Check {
  name: string;
  ok: boolean;
  maxErr: number;
  detail: string;
}

export function checkClose(name: string, got: ArrayLike<number>, want: ArrayLike<number>, rtol: number, atol: number): Check {
  if (got.length !== want.length) return { name, ok: false, maxErr: Infinity, detail: `length ${got.length} != ${want.length}` };
  let maxErr = 0;
  let worst = -1;
  let ok = true;
  for (let i = 0; i < want.length; i++) {
    const e = Math.abs(got[i] - want[i]);
    if (!(e <= atol + rtol * Math.abs(want[i]))) {
      ok = false;
      if (worst < 0 || e > maxErr) worst = i;
    }
    if (e > maxErr || Number.isNaN(e)) maxErr = Number.isNaN(e) ? Infinity : e;
  }
  return { name, ok, maxErr, detail: ok ? `max err ${maxErr.toExponential(2)}` : `max err ${maxErr.toExponential(2)} at ${worst} (got ${got[worst]}, want ${want[worst]})` };
}

export function checkGrad(name: string, got: ArrayLike<number>, want: ArrayLike<number>, tol: number): Check {
  let scale = 0;
  for (let i = 0; i < want.length; i++) scale = Math.max(scale, Math.abs(want[i]));
  const c = checkClose(name, got, want, 0, tol * Math.max(scale, 1e-30));
  return { ...c, detail: `${c.detail} (scale ${scale.toExponential(2)})` };
}
