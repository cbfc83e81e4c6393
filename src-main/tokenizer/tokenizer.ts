// Byte-level BPE encoder/decoder over a vocabulary of byte strings and an ordered merge list (GPT-2 semantics:
// inside each pre-token, repeatedly merge the adjacent pair with the lowest merge rank).

import { createHash } from 'node:crypto';
import { bytesToUnicode } from './bytes-unicode';
import { scanPretokens } from './pretokenize';
import { SpecialSplitter } from './specials';
import { StringTable } from './string-table';

export interface TokenizerData {
  /** vocab[id] = the token's bytes (special tokens: their UTF-8 bytes). */
  vocab: Uint8Array[];
  /** Merges in rank order, as pairs of token ids. */
  merges: Array<[number, number]>;
  /** Special tokens, each present in vocab. */
  specials: string[];
}

const latin1 = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1');

/** Growable Uint32Array for token ids. */
export class IdBuffer {
  data = new Uint32Array(1024);
  length = 0;
  push(id: number): void {
    if (this.length === this.data.length) {
      const d = new Uint32Array(this.data.length * 2);
      d.set(this.data);
      this.data = d;
    }
    this.data[this.length++] = id;
  }
  pushAll(ids: Uint32Array): void {
    const need = this.length + ids.length;
    if (need > this.data.length) {
      const d = new Uint32Array(Math.max(need, this.data.length * 2));
      d.set(this.data.subarray(0, this.length));
      this.data = d;
    }
    this.data.set(ids, this.length);
    this.length = need;
  }
  toArray(): Uint32Array {
    return this.data.slice(0, this.length);
  }
}

/** TokenizerData in a form that postMessage clones fast (three typed arrays). */
export interface PackedTokenizerData {
  bytes: Uint8Array;
  offsets: Uint32Array;
  merges: Int32Array;
  specials: string[];
}

export function packTokenizerData(t: { vocab: Uint8Array[]; merges: Array<[number, number]>; specials: string[] }): PackedTokenizerData {
  const offsets = new Uint32Array(t.vocab.length + 1);
  for (let i = 0; i < t.vocab.length; i++) offsets[i + 1] = offsets[i] + t.vocab[i].length;
  const bytes = new Uint8Array(offsets[t.vocab.length]);
  t.vocab.forEach((v, i) => bytes.set(v, offsets[i]));
  const merges = new Int32Array(t.merges.length * 2);
  t.merges.forEach(([a, b], r) => { merges[2 * r] = a; merges[2 * r + 1] = b; });
  return { bytes, offsets, merges, specials: [...t.specials] };
}

export function unpackTokenizerData(p: PackedTokenizerData): TokenizerData {
  const vocab: Uint8Array[] = [];
  for (let i = 0; i + 1 < p.offsets.length; i++) vocab.push(p.bytes.subarray(p.offsets[i], p.offsets[i + 1]));
  const merges: Array<[number, number]> = [];
  for (let r = 0; 2 * r < p.merges.length; r++) merges.push([p.merges[2 * r], p.merges[2 * r + 1]]);
  return { vocab, merges, specials: p.specials };
}

export class Tokenizer {
  readonly vocab: Uint8Array[];
  readonly merges: Array<[number, number]>;
  readonly specials: string[];
  /** Id of each special token, in the order of `specials`. */
  readonly specialIds: number[];
  private readonly byteId = new Int32Array(256);
  private readonly rankSlots: Int32Array;
  private readonly rankMask: number;
  private readonly mergedId: Int32Array;
  private readonly mA: Int32Array;
  private readonly mB: Int32Array;
  private work = new Int32Array(256);
  private readonly splitter: SpecialSplitter;
  private readonly specialIdSet: Set<number>;
  // Pre-token cache: entry -> ids (single-token pre-tokens, the common case, kept in `cacheSingle`).
  private cache = new StringTable(1 << 16);
  private cacheIds: Array<Uint32Array | undefined> = [];
  private cacheSingle = new Int32Array(1 << 16);
  private readonly encoder = new TextEncoder();
  private scratch = new Uint8Array(1024);
  private hashCache: string | undefined;

  constructor(data: TokenizerData) {
    this.vocab = data.vocab;
    this.merges = data.merges;
    this.specials = [...data.specials];
    const byBytes = new Map<string, number>();
    const specialKeys = new Map(this.specials.map((s, i) => [Buffer.from(s, 'utf8').toString('latin1'), i]));
    const specialIds = new Array<number>(this.specials.length).fill(-1);
    for (let id = 0; id < this.vocab.length; id++) {
      const key = latin1(this.vocab[id]);
      const si = specialKeys.get(key);
      if (si !== undefined && specialIds[si] < 0) { specialIds[si] = id; continue; }
      if (!byBytes.has(key)) byBytes.set(key, id);
    }
    specialIds.forEach((id, i) => {
      if (id < 0) throw new Error(`special token ${JSON.stringify(this.specials[i])} is not in the vocabulary`);
    });
    this.specialIds = specialIds;
    this.specialIdSet = new Set(this.specialIds);
    this.byteId.fill(-1);
    for (let b = 0; b < 256; b++) {
      const id = byBytes.get(String.fromCharCode(b));
      if (id === undefined) throw new Error(`the vocabulary has no token for byte ${b}; a byte-level BPE vocabulary needs all 256`);
      this.byteId[b] = id;
    }
    this.mergedId = new Int32Array(this.merges.length);
    this.mA = Int32Array.from(this.merges, (m) => m[0]);
    this.mB = Int32Array.from(this.merges, (m) => m[1]);
    let cap = 16;
    while (cap < this.merges.length * 2) cap *= 2;
    this.rankSlots = new Int32Array(cap).fill(-1);
    this.rankMask = cap - 1;
    for (let r = 0; r < this.merges.length; r++) {
      const [a, b] = this.merges[r];
      if (this.rankOf(a, b) < 0) {
        let slot = (Math.imul(a, 0x9e3779b1) ^ Math.imul(b, 0x85ebca77)) & this.rankMask;
        while (this.rankSlots[slot] >= 0) slot = (slot + 1) & this.rankMask;
        this.rankSlots[slot] = r;
      }
      const va = this.vocab[a];
      const vb = this.vocab[b];
      const ab = new Uint8Array(va.length + vb.length);
      ab.set(va);
      ab.set(vb, va.length);
      const id = byBytes.get(latin1(ab));
      if (id === undefined) throw new Error(`merge ${r} (${bytesToUnicode(va)} ${bytesToUnicode(vb)}) produces a token that is not in the vocabulary`);
      this.mergedId[r] = id;
    }
    this.splitter = new SpecialSplitter(this.specials);
  }

  get vocabSize(): number {
    return this.vocab.length;
  }

  isSpecialId(id: number): boolean {
    return this.specialIdSet.has(id);
  }

  /** sha256 over the canonical vocab, merges and special-token list: identifies the tokenizer in manifests. */
  hash(): string {
    if (this.hashCache === undefined) {
      const h = createHash('sha256');
      h.update(`lmwb-bpe-1\n${JSON.stringify(this.specials)}\n`);
      for (const v of this.vocab) { h.update(String(v.length)); h.update(':'); h.update(v); }
      h.update('\n');
      for (const [a, b] of this.merges) h.update(`${a} ${b}\n`);
      this.hashCache = h.digest('hex');
    }
    return this.hashCache;
  }

  /** Rank of merge (a, b), or -1: open addressing over (a, b) in typed arrays (no boxed keys for big vocabularies). */
  private rankOf(a: number, b: number): number {
    const mask = this.rankMask;
    let slot = (Math.imul(a, 0x9e3779b1) ^ Math.imul(b, 0x85ebca77)) & mask;
    for (;;) {
      const r = this.rankSlots[slot];
      if (r < 0) return -1;
      if (this.mA[r] === a && this.mB[r] === b) return r;
      slot = (slot + 1) & mask;
    }
  }

  /** BPE of one pre-token's bytes. */
  private bpe(bytes: Uint8Array, n: number): Uint32Array {
    if (this.work.length < n) this.work = new Int32Array(n * 2);
    const ids = this.work;
    for (let i = 0; i < n; i++) ids[i] = this.byteId[bytes[i]];
    while (n > 1) {
      let best = -1;
      for (let i = 0; i + 1 < n; i++) {
        const r = this.rankOf(ids[i], ids[i + 1]);
        if (r >= 0 && (best < 0 || r < best)) best = r;
      }
      if (best < 0) break;
      const a = this.mA[best];
      const b = this.mB[best];
      const c = this.mergedId[best];
      let j = 0;
      for (let i = 0; i < n; ) {
        if (i + 1 < n && ids[i] === a && ids[i + 1] === b) { ids[j++] = c; i += 2; } else ids[j++] = ids[i++];
      }
      n = j;
    }
    return new Uint32Array(ids.subarray(0, n));
  }

  /** Ids of one pre-token (a string produced by the pre-tokenizer), cached. */
  encodePretoken(piece: string): Uint32Array {
    if (this.scratch.length < piece.length * 3) this.scratch = new Uint8Array(piece.length * 3 + 16);
    const { written } = this.encoder.encodeInto(piece, this.scratch);
    return this.bpe(this.scratch, written);
  }

  /** Appends the ids of the pre-token text[start, end), through the cache. */
  private encodePiece(text: string, start: number, end: number, out: IdBuffer): void {
    let e = this.cache.find(text, start, end);
    if (e < 0) {
      if (this.cache.size >= 1 << 20) {
        this.cache = new StringTable(1 << 16);
        this.cacheIds = [];
      }
      const ids = this.encodePretoken(text.slice(start, end));
      e = this.cache.intern(text, start, end);
      if (e >= this.cacheSingle.length) {
        const c = new Int32Array(this.cacheSingle.length * 2);
        c.set(this.cacheSingle);
        this.cacheSingle = c;
      }
      this.cacheSingle[e] = ids.length === 1 ? ids[0] : -1;
      this.cacheIds[e] = ids.length === 1 ? undefined : ids;
    }
    const single = this.cacheSingle[e];
    if (single >= 0) out.push(single);
    else out.pushAll(this.cacheIds[e] as Uint32Array);
  }

  /** Appends the ids of `text` to out. Special tokens are recognised unless allowSpecial is false. */
  encodeInto(text: string, out: IdBuffer, allowSpecial = true): void {
    const onText = (s: number, e: number) => {
      scanPretokens(text, s, e, (ps, pe) => this.encodePiece(text, ps, pe, out));
    };
    if (allowSpecial) this.splitter.split(text, onText, (i) => out.push(this.specialIds[i]));
    else onText(0, text.length);
  }

  encode(text: string, opts: { allowSpecial?: boolean } = {}): Uint32Array {
    const out = new IdBuffer();
    this.encodeInto(text, out, opts.allowSpecial ?? true);
    return out.toArray();
  }

  /** The text of each token of `text` (for inspection in the app; partial UTF-8 shows as U+FFFD). */
  tokenize(text: string): string[] {
    return Array.from(this.encode(text), (id) => this.decode([id]));
  }

  decodeBytes(ids: ArrayLike<number>): Uint8Array {
    let n = 0;
    for (let i = 0; i < ids.length; i++) {
      const v = this.vocab[ids[i]];
      if (v === undefined) throw new RangeError(`token id ${ids[i]} is outside the vocabulary (size ${this.vocab.length})`);
      n += v.length;
    }
    const out = new Uint8Array(n);
    let off = 0;
    for (let i = 0; i < ids.length; i++) { const v = this.vocab[ids[i]]; out.set(v, off); off += v.length; }
    return out;
  }

  /** Decodes ids to text; byte sequences that are not valid UTF-8 become U+FFFD (never throws for that). */
  decode(ids: ArrayLike<number>): string {
    return new TextDecoder('utf-8', { fatal: false, ignoreBOM: true }).decode(this.decodeBytes(ids));
  }
}
