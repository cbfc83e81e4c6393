// Public API of the tokenizer, for the CLI, the training engine and the app.
//
//   const { tokenizer } = await train(trainTxt, { vocabSize: 10000, specials: ['<|endoftext|>'], onEvent, signal });
//   saveTokenizer(tokenizer, 'runs/tok');           // vocab.json, merges.txt, tokenizer.json, lmwb-tokenizer.json
//   const tok = load('runs/tok');                    // or load a GPT-2 folder / a Hugging Face tokenizer.json
//   const ids = tok.encode('Once upon a time<|endoftext|>');   // Uint32Array; specials recognised
//   tok.decode(ids);                                 // exact text back; invalid UTF-8 becomes U+FFFD
//   await encodeFile(tok, 'valid.txt', 'valid.bin', { onEvent, signal }); // uint16 token file + valid.bin.json
//
// Long operations report `DataEvent`s (engine/events.ts) through onEvent and stop on an AbortSignal (AbortedError).
//   const tokens = readTokenFile('valid.bin');       // Uint16Array (checked against its manifest)
import { trainFromFile, type TrainOptions, type TrainStats } from './train';
import { loadTokenizer, type LoadOptions } from './files';
import type { Tokenizer } from './tokenizer';

export { Tokenizer, type TokenizerData } from './tokenizer';
export { trainFromFile, trainFromText, checkVocabSize, type TrainOptions, type TrainStats } from './train';
export {
  loadTokenizer,
  saveTokenizer,
  readTokenizerMeta,
  tokenizerFromVocabMerges,
  toHuggingFace,
  fromHuggingFace,
  serializeVocab,
  serializeMerges,
  DEFAULT_SPECIALS,
  type TokenizerMeta,
  type LoadOptions,
} from './files';
export { encodeFile, manifestPathFor, TokenFileManifestSchema, type TokenFileManifest, type EncodeFileOptions } from './encode-file';
export { readTokenFile, readTokenFileManifest, lookupTokenFileManifest, type ManifestLookup } from './token-file';
export type { DataEvent } from '../engine/events';
export { pretokenize, pretokenizeWithRegex, PRETOKEN_REGEX } from './pretokenize';
export { bytesToUnicode, unicodeToBytes } from './bytes-unicode';
export type { InvalidUtf8Mode } from './text-decode';

/** Trains a tokenizer on a text file (streaming, multi-threaded). */
export function train(inputPath: string, opts: TrainOptions): Promise<{ tokenizer: Tokenizer; stats: TrainStats }> {
  return trainFromFile(inputPath, opts);
}

/** Loads a tokenizer folder (vocab.json + merges.txt [+ lmwb-tokenizer.json]) or a Hugging Face tokenizer.json. */
export function load(pathOrDir: string, opts: LoadOptions = {}): Tokenizer {
  return loadTokenizer(pathOrDir, opts);
}

/** Encodes text to token ids; special tokens are recognised (longest match first) unless allowSpecial is false. */
export function encode(tokenizer: Tokenizer, text: string, opts: { allowSpecial?: boolean } = {}): Uint32Array {
  return tokenizer.encode(text, opts);
}

/** Decodes ids to text (invalid UTF-8 byte sequences become U+FFFD). */
export function decode(tokenizer: Tokenizer, ids: ArrayLike<number>): string {
  return tokenizer.decode(ids);
}

