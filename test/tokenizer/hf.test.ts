import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { fromHuggingFace, loadTokenizer, saveTokenizer, toHuggingFace, tokenizerFromVocabMerges } from '../../src-main/tokenizer/files';
import { trainFromText } from '../../src-main/tokenizer/train';
import { cs336, needCs336, scratch } from './helpers';

// (describe.skipIf still runs the callback to collect the tests: read the fixtures only where they are there)
const haveCs336 = needCs336('Hugging Face tokenizer.json export');
describe.skipIf(!haveCs336)('Hugging Face tokenizer.json', () => {
  const texts = haveCs336 ? ['tinystories_sample.txt', 'address.txt', 'german.txt'].map((f) => readFileSync(join(cs336, f), 'utf8')) : [];

  it('exports a tokenizer that Hugging Face tokenizers.js loads and encodes identically', () => {
    const corpus = readFileSync(join(cs336, 'corpus.en'), 'utf8');
    const { tokenizer } = trainFromText(corpus, { vocabSize: 1000, specials: ['<|endoftext|>'] });
    const hf = new HfTokenizer(toHuggingFace(tokenizer) as never, {} as never);
    for (const t of [...texts, 'hello<|endoftext|>world']) {
      expect(hf.encode(t).ids).toEqual(Array.from(tokenizer.encode(t)));
      expect(hf.decode(Array.from(tokenizer.encode(t)))).toBe(t);
    }
  });

  it('exports GPT-2 so that tokenizers.js encodes like our encoder, and imports it back with the same hash', () => {
    const gpt2 = tokenizerFromVocabMerges(readFileSync(join(cs336, 'gpt2_vocab.json'), 'utf8'), readFileSync(join(cs336, 'gpt2_merges.txt'), 'utf8'), ['<|endoftext|>']);
    const json = toHuggingFace(gpt2);
    const hf = new HfTokenizer(json as never, {} as never);
    for (const t of texts) expect(hf.encode(t).ids).toEqual(Array.from(gpt2.encode(t)));
    const back = fromHuggingFace(JSON.stringify(json));
    expect(back.hash()).toBe(gpt2.hash());
    // Merges are exported as "a b" strings (all tokenizers versions); the newer [a, b] form is imported too.
    const model = json.model as { merges: string[] };
    expect(model.merges[0]).toBe('Ġ t');
    const newStyle = { ...json, model: { ...model, merges: model.merges.map((m) => m.split(' ')) } };
    expect(fromHuggingFace(JSON.stringify(newStyle)).hash()).toBe(gpt2.hash());
    const hf2 = new HfTokenizer(newStyle as never, {} as never);
    expect(hf2.encode(texts[0]).ids).toEqual(Array.from(gpt2.encode(texts[0])));
  });

  it('a saved tokenizer folder contains tokenizer.json that loads back to the same tokenizer', () => {
    const { dir, cleanup } = scratch('hf');
    try {
      const { tokenizer } = trainFromText(texts.join('<|endoftext|>'), { vocabSize: 320, specials: ['<|endoftext|>'] });
      saveTokenizer(tokenizer, dir);
      expect(loadTokenizer(join(dir, 'tokenizer.json')).hash()).toBe(tokenizer.hash());
      expect(loadTokenizer(dir).hash()).toBe(tokenizer.hash());
    } finally {
      cleanup();
    }
  });
});
