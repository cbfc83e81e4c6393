/** The checkpoints browser's renderings: file sizes, and the checkpoint reference the playground's URL takes. */

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
