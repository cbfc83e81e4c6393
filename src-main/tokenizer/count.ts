// Counting pre-tokens of a text: special tokens split it first (and are not counted), then the GPT-2 scanner.
import { scanPretokens } from './pretokenize';
import { SpecialSplitter } from './specials';
import { StringTable } from './string-table';
import type { FlatWords } from './bpe-merge';

/** Pre-token -> count, without allocating a string per occurrence. */
export class PretokenCounts {
  readonly table = new StringTable(1 << 16);
  counts = new Float64Array(1 << 16);

  add(text: string, start: number, end: number, n = 1, copyKey = true): void {
    const id = this.table.intern(text, start, end, copyKey);
    if (id >= this.counts.length) {
      const c = new Float64Array(this.counts.length * 2);
      c.set(this.counts);
      this.counts = c;
    }
    this.counts[id] += n;
  }

  get size(): number {
    return this.table.size;
  }

  /** The pre-tokens as UTF-8 bytes in one buffer, for the merge loop. */
  toFlatWords(): FlatWords {
    const n = this.size;
    const keys = this.table.keys;
    let total = 0;
    for (let i = 0; i < n; i++) total += Buffer.byteLength(keys[i], 'utf8');
    const bytes = Buffer.allocUnsafe(total);
    const offsets = new Float64Array(n + 1);
    let off = 0;
    for (let i = 0; i < n; i++) {
      off += bytes.write(keys[i], off, 'utf8');
      offsets[i + 1] = off;
    }
    return { bytes, offsets, freqs: this.counts.slice(0, n) };
  }

  *entries(): Generator<[string, number]> {
    for (let i = 0; i < this.table.size; i++) yield [this.table.keys[i], this.counts[i]];
  }
}

export function countPretokens(text: string, splitter: SpecialSplitter, counts: PretokenCounts): void {
  splitter.split(
    text,
    (s, e) => scanPretokens(text, s, e, (ps, pe) => counts.add(text, ps, pe)),
    () => {},
  );
}

/** Compact form of the counts for postMessage (one string and two typed arrays clone much faster than a Map). */
export interface PackedCounts {
  keys: string;
  lens: Uint32Array;
  counts: Float64Array;
}

export function packCounts(c: PretokenCounts): PackedCounts {
  const n = c.size;
  const lens = new Uint32Array(n);
  for (let i = 0; i < n; i++) lens[i] = c.table.keys[i].length;
  return { keys: c.table.keys.join(''), lens, counts: c.counts.slice(0, n) };
}

export function mergePacked(into: PretokenCounts, p: PackedCounts): void {
  let off = 0;
  for (let i = 0; i < p.lens.length; i++) {
    into.add(p.keys, off, off + p.lens[i], p.counts[i], false);
    off += p.lens[i];
  }
}
