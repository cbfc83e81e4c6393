// GPT-2's reversible byte <-> printable-unicode mapping, used to write byte tokens into vocab.json / merges.txt
// (space = 'Ġ', newline = 'Ċ'). Bytes that are printable Latin-1 map to themselves, the rest to U+0100 upwards.

/** The 256 byte values in GPT-2's order: printable ones first (33..126, 161..172, 174..255), then the rest. */
export const GPT2_BYTE_ORDER: readonly number[] = (() => {
  const bs: number[] = [];
  for (let b = 33; b <= 126; b++) bs.push(b);
  for (let b = 161; b <= 172; b++) bs.push(b);
  for (let b = 174; b <= 255; b++) bs.push(b);
  for (let b = 0; b < 256; b++) if (!bs.includes(b)) bs.push(b);
  return bs;
})();

/** BYTE_TO_UNICODE[b] is the one-character string that stands for byte b. */
export const BYTE_TO_UNICODE: readonly string[] = (() => {
  const out = new Array<string>(256);
  let n = 0;
  for (const b of GPT2_BYTE_ORDER) {
    const printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
    out[b] = String.fromCharCode(printable ? b : 256 + n++);
  }
  return out;
})();

const UNICODE_TO_BYTE: ReadonlyMap<string, number> = new Map(BYTE_TO_UNICODE.map((ch, b) => [ch, b]));

export function bytesToUnicode(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += BYTE_TO_UNICODE[bytes[i]];
  return s;
}

/** Inverse of bytesToUnicode; returns undefined when a character is not in the mapping. */
export function unicodeToBytes(s: string): Uint8Array | undefined {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) {
    const b = UNICODE_TO_BYTE.get(s[i]);
    if (b === undefined) return undefined;
    out[i] = b;
  }
  return out;
}

/** Lexicographic comparison of byte strings (Python's bytes ordering). */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}
