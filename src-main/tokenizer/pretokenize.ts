// GPT-2 pre-tokenization, as a hand-written scanner equivalent to the regex
//   '(?:[sdmt]|ll|ve|re)| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
// where \s is Unicode White_Space (what Python's `regex` module, used by the CS336 reference and tiktoken, means by
// \s; JavaScript's \s differs on U+0085, U+180E and U+FEFF). The scanner is several times faster than the regex
// in V8 and is tested for equality with PRETOKEN_REGEX on fixtures and random Unicode strings.

/** The reference pattern, in JavaScript syntax with the same \s as Python's `regex`. */
export const PRETOKEN_REGEX = /'(?:[sdmt]|ll|ve|re)| ?\p{L}+| ?\p{N}+| ?[^\p{White_Space}\p{L}\p{N}]+|\p{White_Space}+(?!\P{White_Space})|\p{White_Space}+/gu;

const OTHER = 0;
const LETTER = 1;
const NUMBER = 2;
const SPACE = 3;
const HIGH_SURROGATE = 4;

const RE_L = /^\p{L}$/u;
const RE_N = /^\p{N}$/u;
const RE_WS = /^\p{White_Space}$/u;

function classifyCodePoint(cp: number): number {
  const ch = String.fromCodePoint(cp);
  if (RE_L.test(ch)) return LETTER;
  if (RE_N.test(ch)) return NUMBER;
  if (RE_WS.test(ch)) return SPACE;
  return OTHER;
}

/** Class of every UTF-16 code unit; high surrogates are marked for a code point look-up. */
const BMP_CLASS: Uint8Array = (() => {
  const t = new Uint8Array(65536);
  // Classify by running the property regexes over the whole BMP once (much faster than 65536 single tests).
  const all: string[] = [];
  for (let c = 0; c < 65536; c++) all.push(c >= 0xd800 && c <= 0xdfff ? '\u0000' : String.fromCharCode(c));
  const s = all.join('');
  for (const [re, cls] of [[/\p{L}/gu, LETTER], [/\p{N}/gu, NUMBER], [/\p{White_Space}/gu, SPACE]] as const) {
    for (const m of s.matchAll(re)) t[m.index] = cls;
  }
  for (let c = 0xd800; c <= 0xdbff; c++) t[c] = HIGH_SURROGATE;
  return t;
})();

const astralCache = new Map<number, number>();
function astralClass(cp: number): number {
  let c = astralCache.get(cp);
  if (c === undefined) { c = classifyCodePoint(cp); astralCache.set(cp, c); }
  return c;
}

/**
 * Calls emit(start, end) for every pre-token of text[from, to), in order. Pre-tokens cover the range exactly.
 * Class of the code point at i and its length in code units are computed inline for speed.
 */
export function scanPretokens(text: string, from: number, to: number, emit: (start: number, end: number) => void): void {
  let i = from;
  while (i < to) {
    const start = i;
    const c = text.charCodeAt(i);
    // Contractions: 's 'd 'm 't 'll 've 're (lower case only, as in the pattern).
    if (c === 39 && i + 1 < to) {
      const d = text.charCodeAt(i + 1);
      if (d === 115 || d === 100 || d === 109 || d === 116) { emit(i, i + 2); i += 2; continue; }
      if (i + 2 < to) {
        const e = text.charCodeAt(i + 2);
        if ((d === 108 && e === 108) || (d === 118 && e === 101) || (d === 114 && e === 101)) { emit(i, i + 3); i += 3; continue; }
      }
    }
    let cls = BMP_CLASS[c];
    let w = 1;
    if (cls === HIGH_SURROGATE) {
      const lo = i + 1 < to ? text.charCodeAt(i + 1) : 0;
      if (lo >= 0xdc00 && lo <= 0xdfff) { cls = astralClass(((c - 0xd800) << 10) + (lo - 0xdc00) + 0x10000); w = 2; } else cls = OTHER;
    }
    if (c === 32 && i + 1 < to) {
      // ' ?X+' alternatives: a single space joins a following letter, number or other run.
      const n = text.charCodeAt(i + 1);
      let ncls = BMP_CLASS[n];
      let nw = 1;
      if (ncls === HIGH_SURROGATE) {
        const lo = i + 2 < to ? text.charCodeAt(i + 2) : 0;
        if (lo >= 0xdc00 && lo <= 0xdfff) { ncls = astralClass(((n - 0xd800) << 10) + (lo - 0xdc00) + 0x10000); nw = 2; } else ncls = OTHER;
      }
      if (ncls !== SPACE) { cls = ncls; w = 1 + nw; }
    }
    i += w;
    if (cls === SPACE) {
      // \s+(?!\S) | \s+ : a whitespace run; when a non-space follows, its last character is left to the next token.
      while (i < to && BMP_CLASS[text.charCodeAt(i)] === SPACE) i++;
      if (i < to && i - start > 1) i--;
      emit(start, i);
      continue;
    }
    // Run of the same class (letters, numbers, or others).
    while (i < to) {
      const x = text.charCodeAt(i);
      let xc = BMP_CLASS[x];
      let xw = 1;
      if (xc === HIGH_SURROGATE) {
        const lo = i + 1 < to ? text.charCodeAt(i + 1) : 0;
        if (lo >= 0xdc00 && lo <= 0xdfff) { xc = astralClass(((x - 0xd800) << 10) + (lo - 0xdc00) + 0x10000); xw = 2; } else xc = OTHER;
      }
      if (xc !== cls) break;
      i += xw;
    }
    emit(start, i);
  }
}

/** Pre-tokens of text as strings (convenience; the hot paths use scanPretokens). */
export function pretokenize(text: string): string[] {
  const out: string[] = [];
  scanPretokens(text, 0, text.length, (s, e) => out.push(text.slice(s, e)));
  return out;
}

/** Pre-tokens by the regex itself, the reference the scanner is tested against. */
export function pretokenizeWithRegex(text: string): string[] {
  return Array.from(text.matchAll(PRETOKEN_REGEX), (m) => m[0]);
}
