// Streams a file as chunks that can be pre-tokenized (and encoded) independently: each cut is either just before
// a special-token occurrence (documents stay whole, like CS336's find_chunk_boundaries) or, where a stretch has
// no special token, between a printable non-space ASCII byte and an ASCII whitespace byte. At such a point every
// GPT-2 pre-token ends and the pattern's (?!\S) look-ahead sees the same answer at the end of the left part as
// in the whole text, so the concatenated pre-tokens of the parts equal those of the whole. Cuts never fall inside
// a special token or a UTF-8 sequence. Memory: one chunk plus one read block, except for a stretch with no cut
// point at all (a single pre-token of many MB), which is kept whole.

import { open } from 'node:fs/promises';
import { createHash, type Hash } from 'node:crypto';

export interface Chunk {
  /** Byte offset of the chunk in the file. */
  offset: number;
  data: Buffer;
}

export interface ChunkOptions {
  /** Target chunk size in bytes. */
  chunkSize: number;
  /** Special tokens (cuts prefer their occurrences and never split one). */
  specials: readonly string[];
  /** Feed every byte read into this hash (source hash for manifests). */
  hash?: Hash;
  /** Called after each read with the total bytes read. */
  onRead?: (bytesRead: number) => void;
}

const isWs = (b: number) => b === 32 || (b >= 9 && b <= 13);
const isPrintable = (b: number) => b >= 33 && b <= 126;

/** Whether an occurrence of one of the specials starts before p and ends after it (p would cut it in two). */
function straddles(buf: Buffer, p: number, specials: readonly Buffer[]): boolean {
  for (const sp of specials) {
    for (let s = Math.max(0, p - sp.length + 1); s < p; s++) {
      if (s + sp.length <= buf.length && buf.compare(sp, 0, sp.length, s, s + sp.length) === 0) return true;
    }
  }
  return false;
}

/** Finds a cut in buf[lo, hi): returns an index p (lo < p < hi) or -1. */
export function findCut(buf: Buffer, lo: number, hi: number, specials: readonly Buffer[]): number {
  const maxLen = specials.reduce((m, s) => Math.max(m, s.length), 0);
  // Prefer the last special-token occurrence in the window (that is not inside a longer special, as the second
  // half of '<|endoftext|><|endoftext|>' when that is a special token too).
  let best = -1;
  for (const sp of specials) {
    let from = hi - sp.length;
    while (from > lo) {
      const p = buf.lastIndexOf(sp, from);
      if (p <= lo || p <= best) break;
      if (p + maxLen <= hi && !straddles(buf, p, specials)) { best = p; break; }
      from = p - 1;
    }
  }
  if (best > lo) return best;
  const wsSpecials = specials.filter((s) => s.some(isWs));
  for (let p = hi - 1; p > lo; p--) {
    if (!isWs(buf[p]) || !isPrintable(buf[p - 1])) continue;
    // A special token containing whitespace must not straddle p.
    if (wsSpecials.length > 0 && (p + maxLen > hi || straddles(buf, p, wsSpecials))) continue;
    return p;
  }
  return -1;
}

/** Yields the file's chunks in order. */
export async function* readChunks(path: string, opts: ChunkOptions): AsyncGenerator<Chunk> {
  const specials = opts.specials.filter((s) => s.length > 0).map((s) => Buffer.from(s, 'utf8'));
  const fh = await open(path, 'r');
  try {
    const block = Math.max(64 * 1024, Math.min(opts.chunkSize, 16 * 1024 * 1024));
    let pending = Buffer.alloc(0);
    let pendingOffset = 0;
    let total = 0;
    let eof = false;
    // Appends the next block of the file to `pending` (or notes the end of the file).
    const readMore = async (): Promise<void> => {
      const buf = Buffer.allocUnsafe(block);
      const { bytesRead } = await fh.read(buf, 0, block, null);
      if (bytesRead === 0) {
        eof = true;
        return;
      }
      const got = buf.subarray(0, bytesRead);
      opts.hash?.update(got);
      total += bytesRead;
      opts.onRead?.(total);
      pending = pending.length === 0 ? Buffer.from(got) : Buffer.concat([pending, got]);
    };
    while (!eof || pending.length > 0) {
      if (!eof && pending.length < opts.chunkSize) {
        await readMore();
        continue;
      }
      if (eof) {
        yield { offset: pendingOffset, data: pending };
        pending = Buffer.alloc(0);
        break;
      }
      // Look for a cut in the last half of what is pending (the whole of it if the first try fails).
      let cut = findCut(pending, pending.length >> 1, pending.length, specials);
      if (cut < 0) cut = findCut(pending, 0, pending.length >> 1, specials);
      if (cut < 0) {
        // No cut point yet: read more (the chunk grows until one appears or the file ends).
        await readMore();
        continue;
      }
      yield { offset: pendingOffset, data: Buffer.from(pending.subarray(0, cut)) };
      pending = Buffer.from(pending.subarray(cut));
      pendingOffset += cut;
    }
  } finally {
    await fh.close();
  }
}

export function sha256Hex(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}
