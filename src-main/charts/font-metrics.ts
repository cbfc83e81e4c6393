/**
 * Text widths from a TrueType font's own metrics (cmap format 4 + hmtx), so ECharts' server-side layout (legend
 * wrapping, label spacing) measures text as resvg will draw it with the bundled font, instead of zrender's
 * estimate for a narrower font. Node only (reads the font file).
 */
import { readFileSync } from 'node:fs';

export interface FontMetrics {
  /** Advance width of a string at `sizePx`. */
  width(text: string, sizePx: number): number;
}

export function loadFontMetrics(path: string): FontMetrics {
  const b = readFileSync(path);
  const numTables = b.readUInt16BE(4);
  const tables = new Map<string, number>();
  for (let i = 0; i < numTables; i++) {
    const rec = 12 + 16 * i;
    tables.set(b.toString('latin1', rec, rec + 4), b.readUInt32BE(rec + 8));
  }
  const need = (t: string) => {
    const off = tables.get(t);
    if (off === undefined) throw new Error(`font ${path} has no ${t} table`);
    return off;
  };
  const unitsPerEm = b.readUInt16BE(need('head') + 18);
  const numberOfHMetrics = b.readUInt16BE(need('hhea') + 34);
  const hmtx = need('hmtx');
  const advance = (gid: number) => b.readUInt16BE(hmtx + 4 * Math.min(gid, numberOfHMetrics - 1));
  // cmap: the Windows Unicode BMP subtable (3, 1), format 4.
  const cmap = need('cmap');
  let sub = -1;
  for (let i = 0; i < b.readUInt16BE(cmap + 2); i++) {
    const rec = cmap + 4 + 8 * i;
    if (b.readUInt16BE(rec) === 3 && b.readUInt16BE(rec + 2) === 1) sub = cmap + b.readUInt32BE(rec + 4);
  }
  const cache = new Map<number, number>();
  const glyph = (code: number): number => {
    if (sub < 0 || b.readUInt16BE(sub) !== 4 || code > 0xffff) return 0;
    const segX2 = b.readUInt16BE(sub + 6);
    const ends = sub + 14;
    const starts = ends + segX2 + 2;
    const deltas = starts + segX2;
    const ranges = deltas + segX2;
    for (let s = 0; s < segX2; s += 2) {
      if (b.readUInt16BE(ends + s) < code) continue;
      const start = b.readUInt16BE(starts + s);
      if (start > code) return 0;
      const delta = b.readUInt16BE(deltas + s);
      const ro = b.readUInt16BE(ranges + s);
      if (ro === 0) return (code + delta) & 0xffff;
      const g = b.readUInt16BE(ranges + s + ro + 2 * (code - start));
      return g === 0 ? 0 : (g + delta) & 0xffff;
    }
    return 0;
  };
  const adv = (code: number) => {
    let a = cache.get(code);
    if (a === undefined) cache.set(code, (a = advance(glyph(code)) / unitsPerEm));
    return a;
  };
  return {
    width(text, sizePx) {
      let w = 0;
      for (const ch of text) w += adv(ch.codePointAt(0) ?? 32);
      return w * sizePx;
    },
  };
}
