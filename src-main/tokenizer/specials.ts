// Special tokens split the text before pre-tokenization. Matching is longest first at each position, so with
// specials ['<|endoftext|>', '<|endoftext|><|endoftext|>'] the doubled one is one token, and with only the first
// it is two.

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export class SpecialSplitter {
  private readonly re: RegExp | undefined;
  private readonly index: Map<string, number>;

  constructor(readonly specials: readonly string[]) {
    const nonEmpty = specials.filter((s) => s.length > 0);
    const sorted = [...new Set(nonEmpty)].sort((x, y) => y.length - x.length);
    this.re = sorted.length > 0 ? new RegExp(sorted.map(escapeRegex).join('|'), 'g') : undefined;
    this.index = new Map(specials.map((s, i) => [s, i]));
  }

  /**
   * Walks text[0, end): onText(start, end) for each stretch of ordinary text (non-empty), onSpecial(i) for each
   * special token, i being its index in the constructor's list.
   */
  split(text: string, onText: (start: number, end: number) => void, onSpecial: (i: number) => void): void {
    const re = this.re;
    if (re === undefined) {
      if (text.length > 0) onText(0, text.length);
      return;
    }
    re.lastIndex = 0;
    let pos = 0;
    for (;;) {
      const m = re.exec(text);
      if (m === null) break;
      if (m.index > pos) onText(pos, m.index);
      onSpecial(this.index.get(m[0]) as number);
      pos = m.index + m[0].length;
    }
    if (pos < text.length) onText(pos, text.length);
  }
}
