// UTF-8 checks for input chunks: invalid input is an error naming the byte offset, unless the caller asked for
// replacement (each invalid sequence becomes U+FFFD, as Python's errors="replace").
import { isUtf8 } from 'node:buffer';

export type InvalidUtf8Mode = 'error' | 'replace';

export class InvalidUtf8Error extends Error {
  constructor(readonly offset: number) {
    super(`invalid UTF-8 at byte offset ${offset}`);
  }
}

/** Offset of the first invalid UTF-8 sequence in buf, or -1. */
export function firstInvalidUtf8(buf: Uint8Array): number {
  let i = 0;
  const n = buf.length;
  while (i < n) {
    const b = buf[i];
    if (b < 0x80) { i++; continue; }
    let need: number;
    let min: number;
    if (b >= 0xc2 && b <= 0xdf) { need = 1; min = 0x80; } else if (b >= 0xe0 && b <= 0xef) { need = 2; min = 0x800; } else if (b >= 0xf0 && b <= 0xf4) { need = 3; min = 0x10000; } else return i;
    if (i + need >= n) return i;
    let cp = b & (0x3f >> need);
    for (let k = 1; k <= need; k++) {
      const c = buf[i + k];
      if (c === undefined || (c & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (c & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
    i += need + 1;
  }
  return -1;
}

/** Decodes a chunk that starts at byte `offset` of its file. */
export function decodeChunk(buf: Buffer, offset: number, mode: InvalidUtf8Mode): string {
  if (mode === 'error' && !isUtf8(buf)) {
    const at = firstInvalidUtf8(buf);
    throw new InvalidUtf8Error(offset + Math.max(0, at));
  }
  return buf.toString('utf8');
}
