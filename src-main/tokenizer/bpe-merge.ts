// The BPE merge loop: from pre-token counts to an ordered list of merges, with CS336 semantics (pairs counted
// inside pre-tokens weighted by their frequency; the most frequent pair wins; ties go to the lexicographically
// greater pair, comparing (bytes(a), bytes(b)) as byte strings). Pair counts are updated incrementally for the
// pre-tokens a merge touches (found through a pair -> pre-token index), and the best pair comes from a max-heap
// with lazy invalidation, so a merge costs time proportional to what it changes, not to the corpus.

import { throwIfAborted } from '../util/errors';
import { compareBytes } from './bytes-unicode';

export interface MergeResult {
  /** Bytes of every internal token id: 0..255 single bytes, then one per merge in order. */
  tokenBytes: Uint8Array[];
  /** merges[k] = [left, right] in internal ids; it creates internal id 256 + k. */
  merges: Array<[number, number]>;
}

export interface MergeOptions {
  numMerges: number;
  onProgress?: (done: number, total: number) => void;
}

export interface MergeAsyncOptions extends MergeOptions {
  /** Stops the loop (AbortedError) within a few milliseconds of firing. */
  signal?: AbortSignal;
}

/** Distinct pre-tokens, flat: word w is bytes[offsets[w], offsets[w + 1]) (no object per word: OWT has millions). */
export interface FlatWords {
  bytes: Uint8Array;
  offsets: Uint32Array | Float64Array;
  freqs: Float64Array;
}

export function flattenWords(words: Uint8Array[], freqs: ArrayLike<number>): FlatWords {
  const offsets = new Float64Array(words.length + 1);
  for (let w = 0; w < words.length; w++) offsets[w + 1] = offsets[w] + words[w].length;
  const bytes = new Uint8Array(offsets[words.length]);
  words.forEach((b, w) => bytes.set(b, offsets[w]));
  return { bytes, offsets, freqs: Float64Array.from(freqs) };
}

/** words: distinct pre-tokens as UTF-8 bytes with their counts. */
export function learnMerges(words: FlatWords | Uint8Array[], freqsArg: ArrayLike<number> | MergeOptions, optsArg?: MergeOptions): MergeResult {
  const it = mergeSteps(words, freqsArg, optsArg);
  for (;;) {
    const r = it.next();
    if (r.done) return r.value;
  }
}

/**
 * The merge loop as learnMerges, but giving the event loop a turn every ~20 ms, so that an AbortSignal (a timer,
 * SIGINT, an IPC message) is seen while it runs.
 */
export async function learnMergesAsync(words: FlatWords, opts: MergeAsyncOptions): Promise<MergeResult> {
  throwIfAborted(opts.signal, 'tokenizer training');
  const it = mergeSteps(words, opts);
  let last = performance.now();
  for (;;) {
    const r = it.next();
    if (r.done) return r.value;
    if (performance.now() - last >= 20) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      throwIfAborted(opts.signal, 'tokenizer training');
      last = performance.now();
    }
  }
}

/** The merge loop, yielding after every merge (the drivers above decide when to give the event loop a turn). */
function* mergeSteps(words: FlatWords | Uint8Array[], freqsArg: ArrayLike<number> | MergeOptions, optsArg?: MergeOptions): Generator<void, MergeResult> {
  const flat = Array.isArray(words) ? flattenWords(words, freqsArg as ArrayLike<number>) : words;
  const opts = (Array.isArray(words) ? optsArg : freqsArg) as MergeOptions;
  const W = flat.freqs.length;
  const tokenBytes: Uint8Array[] = [];
  for (let b = 0; b < 256; b++) tokenBytes.push(Uint8Array.of(b));
  const merges: Array<[number, number]> = [];
  const K = 256 + opts.numMerges; // pair key = a * K + b (a small integer for vocabularies up to ~32k)

  // Symbols of all words in one array; word w occupies [start[w], start[w] + len[w]), shrinking as it merges.
  const sym = Int32Array.from(flat.bytes);
  const start = new Float64Array(W + 1);
  const len = new Int32Array(W);
  const freq = flat.freqs;
  for (let w = 0; w <= W; w++) start[w] = flat.offsets[w];
  for (let w = 0; w < W; w++) len[w] = flat.offsets[w + 1] - flat.offsets[w];

  const pairCount = new Map<number, number>();
  const where = new Map<number, number[]>();
  for (let w = 0; w < W; w++) {
    const s = start[w];
    const e = s + len[w];
    const f = freq[w];
    for (let i = s; i + 1 < e; i++) {
      const key = sym[i] * K + sym[i + 1];
      pairCount.set(key, (pairCount.get(key) ?? 0) + f);
      const list = where.get(key);
      if (list === undefined) where.set(key, [w]);
      else if (list[list.length - 1] !== w) list.push(w);
    }
  }

  // Max-heap of (count, key); an entry is stale when the pair's count has changed since it was pushed.
  const hKey: number[] = [];
  const hCnt: number[] = [];
  const better = (i: number, j: number): boolean => {
    if (hCnt[i] !== hCnt[j]) return hCnt[i] > hCnt[j];
    const ki = hKey[i];
    const kj = hKey[j];
    const ai = Math.floor(ki / K);
    const aj = Math.floor(kj / K);
    let c = ai === aj ? 0 : compareBytes(tokenBytes[ai], tokenBytes[aj]);
    if (c === 0) c = compareBytes(tokenBytes[ki - ai * K], tokenBytes[kj - aj * K]);
    return c > 0;
  };
  const swap = (i: number, j: number) => {
    const k = hKey[i]; hKey[i] = hKey[j]; hKey[j] = k;
    const c = hCnt[i]; hCnt[i] = hCnt[j]; hCnt[j] = c;
  };
  const push = (key: number, cnt: number) => {
    hKey.push(key);
    hCnt.push(cnt);
    let i = hKey.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!better(i, p)) break;
      swap(i, p);
      i = p;
    }
  };
  const pop = () => {
    const n = hKey.length - 1;
    swap(0, n);
    hKey.pop();
    hCnt.pop();
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const m = r < n && better(r, l) ? r : l;
      if (!better(m, i)) break;
      swap(i, m);
      i = m;
    }
  };
  for (const [key, cnt] of pairCount) push(key, cnt);

  const seen = new Int32Array(W).fill(-1);
  // Per-merge pair-count changes, in dense arrays indexed by the other token of the pair (no hashing in the hot
  // loop): (x, a), (b, y), (x, c), (c, y) for merge (a, b) -> c, plus (a, b) itself.
  const dLA = new Float64Array(K);
  const dRB = new Float64Array(K);
  const dLC = new Float64Array(K);
  const dRC = new Float64Array(K);
  const wLC: number[][] = new Array(K);
  const wRC: number[][] = new Array(K);
  const tLA: number[] = [];
  const tRB: number[] = [];
  const tLC: number[] = [];
  const tRC: number[] = [];
  const delta = new Map<number, number>();
  let buf = new Int32Array(64);
  for (let step = 0; step < opts.numMerges; step++) {
    // Best current pair.
    let best = -1;
    while (hKey.length > 0) {
      const key = hKey[0];
      const cnt = hCnt[0];
      pop();
      if (pairCount.get(key) === cnt) { best = key; break; }
    }
    if (best < 0) break; // nothing left to merge
    const a = Math.floor(best / K);
    const b = best - a * K;
    const c = 256 + merges.length;
    merges.push([a, b]);
    const ab = new Uint8Array(tokenBytes[a].length + tokenBytes[b].length);
    ab.set(tokenBytes[a]);
    ab.set(tokenBytes[b], tokenBytes[a].length);
    tokenBytes.push(ab);

    const list = where.get(best) ?? [];
    where.delete(best);
    let dAB = 0;
    for (const w of list) {
      if (seen[w] === step) continue;
      seen[w] = step;
      const s = start[w];
      const n = len[w];
      const e = s + n;
      let first = -1;
      for (let i = s; i + 1 < e; i++) if (sym[i] === a && sym[i + 1] === b) { first = i; break; }
      if (first < 0) continue; // stale index entry
      const f = freq[w];
      if (buf.length < n) buf = new Int32Array(n * 2);
      // Merge left to right, non-overlapping. Only pairs that touch a merged occurrence change: old ones at
      // positions i-1, i, i+1 around each occurrence go out, new ones next to each new token come in.
      let m = first - s;
      for (let i = s; i < first; i++) buf[i - s] = sym[i];
      let lastOld = -1;
      for (let i = first; i < e; ) {
        if (i + 1 < e && sym[i] === a && sym[i + 1] === b) {
          if (i - 1 >= s && i - 1 > lastOld) {
            const x = sym[i - 1];
            if (dLA[x] === 0) tLA.push(x);
            dLA[x] -= f;
          }
          dAB -= f;
          if (i + 2 < e) {
            const y = sym[i + 2];
            if (dRB[y] === 0) tRB.push(y);
            dRB[y] -= f;
            lastOld = i + 1;
          }
          buf[m] = c;
          i += 2;
        } else {
          buf[m] = sym[i++];
        }
        if (m > 0) {
          if (buf[m] === c) {
            const x = buf[m - 1];
            if (dLC[x] === 0) { tLC.push(x); wLC[x] = []; }
            dLC[x] += f;
            const wl = wLC[x];
            if (wl[wl.length - 1] !== w) wl.push(w);
          } else if (buf[m - 1] === c) {
            const y = buf[m];
            if (dRC[y] === 0) { tRC.push(y); wRC[y] = []; }
            dRC[y] += f;
            const wl = wRC[y];
            if (wl[wl.length - 1] !== w) wl.push(w);
          }
        }
        m++;
      }
      for (let i = 0; i < m; i++) sym[s + i] = buf[i];
      len[w] = m;
    }
    // Gather the changes by pair key (the same pair can appear in two arrays, e.g. (b, a) or (a, a)).
    delta.clear();
    const add = (key: number, d: number) => delta.set(key, (delta.get(key) ?? 0) + d);
    add(best, dAB);
    for (const x of tLA) { add(x * K + a, dLA[x]); dLA[x] = 0; }
    for (const y of tRB) { add(b * K + y, dRB[y]); dRB[y] = 0; }
    for (const x of tLC) { add(x * K + c, dLC[x]); dLC[x] = 0; where.set(x * K + c, wLC[x]); }
    for (const y of tRC) { add(c * K + y, dRC[y]); dRC[y] = 0; where.set(c * K + y, wRC[y]); }
    tLA.length = 0;
    tRB.length = 0;
    tLC.length = 0;
    tRC.length = 0;
    for (const [key, d] of delta) {
      if (d === 0) continue;
      const cnt = (pairCount.get(key) ?? 0) + d;
      if (cnt <= 0) { pairCount.delete(key); where.delete(key); } else { pairCount.set(key, cnt); push(key, cnt); }
    }
    pairCount.delete(best);
    if (opts.onProgress && (step & 63) === 0) opts.onProgress(step, opts.numMerges);
    yield;
  }
  opts.onProgress?.(merges.length, opts.numMerges);
  return { tokenBytes, merges };
}
