// Counting pre-tokens of a text: special tokens split it first (and are not counted), then the GPT-2 scanner.
import { scanPretokens } from './pretokenize';
import { SpecialSplitter } from './specials';

export function countPretokens(text: string, splitter: SpecialSplitter, counts: Map<string, number>): void {
  splitter.split(
    text,
    (s, e) => scanPretokens(text, s, e, (ps, pe) => {
      const k = text.slice(ps, pe);
      counts.set(k, (counts.get(k) ?? 0) + 1);
    }),
    () => {},
  );
}

/** Compact form of a count map for postMessage (one string and two typed arrays clone much faster than a Map). */
export interface PackedCounts {
  keys: string;
  lens: Uint32Array;
  counts: Float64Array;
}

export function packCounts(counts: Map<string, number>): PackedCounts {
  const keys: string[] = [];
  const lens = new Uint32Array(counts.size);
  const cs = new Float64Array(counts.size);
  let i = 0;
  for (const [k, c] of counts) { keys.push(k); lens[i] = k.length; cs[i] = c; i++; }
  return { keys: keys.join(''), lens, counts: cs };
}

export function mergePacked(into: Map<string, number>, p: PackedCounts): void {
  let off = 0;
  for (let i = 0; i < p.lens.length; i++) {
    const k = p.keys.slice(off, off + p.lens[i]);
    off += p.lens[i];
    into.set(k, (into.get(k) ?? 0) + p.counts[i]);
  }
}
