/** The checkpoints browser's renderings: file sizes, the playground link of a checkpoint. */

/** Bytes as KiB / MiB / GiB. */
export function fmtBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v < 10 ? v.toFixed(2) : v < 100 ? v.toFixed(1) : v.toFixed(0)} ${units[i]}`;
}

/** The agreed checkpoint reference of the playground's URL: `RUN_ID/FILE`. */
export function checkpointRef(runId: string, file: string): string {
  return `${runId}/${file}`;
}

/** `#/playground?a=RUN/FILE` (and `&b=RUN/FILE` for two side by side). */
export function playgroundHash(a: string, b?: string): string {
  const q = new URLSearchParams({ a, ...(b ? { b } : {}) });
  return `#/playground?${q.toString()}`;
}
