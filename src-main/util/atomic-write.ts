// Write files so that a reader never sees half of one: write to a temporary file beside the target, fsync,
// then rename over it. On failure the temporary file is removed and the target is untouched.
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync, mkdirSync } from 'node:fs';
import { dirname, basename, join } from 'node:path';

export function tempPathFor(target: string): string {
  return join(dirname(target), `.${basename(target)}.tmp-${process.pid}-${Date.now().toString(36)}`);
}

/** Writes all chunks to `target` atomically. */
export function writeFileAtomic(target: string, chunks: Uint8Array | string | Array<Uint8Array | string>): void {
  mkdirSync(dirname(target), { recursive: true });
  const tmp = tempPathFor(target);
  const list = Array.isArray(chunks) ? chunks : [chunks];
  let fd: number | undefined;
  try {
    fd = openSync(tmp, 'w');
    for (const c of list) {
      const buf = typeof c === 'string' ? Buffer.from(c, 'utf8') : c;
      let off = 0;
      while (off < buf.byteLength) off += writeSync(fd, buf, off, buf.byteLength - off);
    }
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, target);
  } catch (err) {
    if (fd !== undefined) closeSync(fd);
    rmSync(tmp, { force: true });
    throw err;
  }
}
