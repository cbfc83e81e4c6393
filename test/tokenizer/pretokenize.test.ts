import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pretokenize, pretokenizeWithRegex } from '../../src-main/tokenizer/pretokenize';
import { cs336, dataDir, needCs336, needData, randomText, rng } from './helpers';

describe('GPT-2 pre-tokenization scanner', () => {
  it('equals the regex on hand-picked edge cases', () => {
    const cases = [
      '', ' ', '  ', 'a', ' a', '  a', 'a  ', 'a \n b', "I'm can't we'll they've you're he'd", "'S 'LL ''s x''s !'s",
      'hello   world', 'x\n\n\ny', ' \n ', '\t\tfoo', '3.14 and 42nd', '日本語のテキスト', 'emoji 😀😀 ok', '\ud800 lone \udc00',
      'tab\t\tend\t', 'a\u00a0b \u0085 c\ufeffd', 'ǅungla Ⅻ 𝟙𝟚', ' !!! ??? ', '<|endoftext|>', '  \u3000x',
    ];
    for (const c of cases) expect(pretokenize(c), JSON.stringify(c)).toEqual(pretokenizeWithRegex(c));
  });

  it('equals the regex on 20000 random strings of mixed scripts and whitespace', () => {
    const rand = rng(1234);
    for (let k = 0; k < 20000; k++) {
      const s = randomText(rand, 24);
      const a = pretokenize(s);
      const b = pretokenizeWithRegex(s);
      if (JSON.stringify(a) !== JSON.stringify(b)) expect(a, JSON.stringify(s)).toEqual(b);
      expect(a.join('')).toBe(s);
    }
  });

  it('equals the regex on random code points from the whole Unicode range', () => {
    const rand = rng(99);
    for (let k = 0; k < 3000; k++) {
      let s = '';
      const n = 1 + Math.floor(rand() * 12);
      for (let j = 0; j < n; j++) {
        const r = rand();
        const cp = r < 0.3 ? 32 : r < 0.5 ? Math.floor(rand() * 128) : Math.floor(rand() * 0x10ffff);
        s += cp >= 0xd800 && cp <= 0xdfff ? 'x' : String.fromCodePoint(cp);
      }
      expect(pretokenize(s), JSON.stringify(s)).toEqual(pretokenizeWithRegex(s));
    }
  });

  const what = 'pre-tokenizer vs regex on fixture texts';
  it.skipIf(!(needCs336(what) && needData(what)))('equals the regex on the fixture texts', () => {
    for (const f of ['corpus.en', 'tinystories_sample.txt', 'address.txt', 'german.txt']) {
      const s = readFileSync(join(cs336, f), 'utf8');
      expect(pretokenize(s)).toEqual(pretokenizeWithRegex(s));
    }
    const tiny = readFileSync(join(dataDir, 'tinystories', 'tinystories_valid_head.txt'), 'utf8');
    expect(pretokenize(tiny)).toEqual(pretokenizeWithRegex(tiny));
  });
});
