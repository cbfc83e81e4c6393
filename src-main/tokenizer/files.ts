// Tokenizer files: vocab.json + merges.txt in GPT-2's byte-to-unicode form (the layout of the CS336 reference
// files: vocab.json is Python's json.dumps(indent=4, ensure_ascii=False) ordered by id, merges.txt one "A B" per
// line), a small lmwb-tokenizer.json with the special tokens and provenance, and Hugging Face tokenizer.json.

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { UserError } from '../util/errors';
import { writeFileAtomic } from '../util/atomic-write';
import { bytesToUnicode, unicodeToBytes } from './bytes-unicode';
import { Tokenizer, type TokenizerData } from './tokenizer';

export const VOCAB_FILE = 'vocab.json';
export const MERGES_FILE = 'merges.txt';
export const META_FILE = 'lmwb-tokenizer.json';
export const HF_FILE = 'tokenizer.json';
export const DEFAULT_SPECIALS = ['<|endoftext|>'];

/** How a token is written in vocab.json / merges.txt: specials as themselves, others byte-to-unicode. */
function tokenString(t: Tokenizer, id: number): string {
  return t.isSpecialId(id) ? Buffer.from(t.vocab[id]).toString('utf8') : bytesToUnicode(t.vocab[id]);
}

export function serializeVocab(t: Tokenizer): string {
  const lines: string[] = [];
  for (let id = 0; id < t.vocab.length; id++) lines.push(`    ${JSON.stringify(tokenString(t, id))}: ${id}`);
  return `{\n${lines.join(',\n')}\n}`;
}

export function serializeMerges(t: Tokenizer): string {
  let s = '';
  for (const [a, b] of t.merges) s += `${bytesToUnicode(t.vocab[a])} ${bytesToUnicode(t.vocab[b])}\n`;
  return s;
}

export const TokenizerMetaSchema = z.object({
  format: z.literal('lmwb-bpe-tokenizer'),
  version: z.literal(1),
  special_tokens: z.array(z.string()),
  vocab_size: z.number().int(),
  num_merges: z.number().int(),
  hash: z.string(),
  trained_on: z
    .object({ path: z.string(), size: z.number(), sha256: z.string().optional() })
    .optional(),
  training: z.record(z.string(), z.unknown()).optional(),
});
export type TokenizerMeta = z.infer<typeof TokenizerMetaSchema>;

export interface SaveOptions {
  trainedOn?: TokenizerMeta['trained_on'];
  training?: Record<string, unknown>;
}

/** Writes vocab.json, merges.txt, tokenizer.json (Hugging Face) and lmwb-tokenizer.json into dir, each atomically. */
export function saveTokenizer(t: Tokenizer, dir: string, opts: SaveOptions = {}): TokenizerMeta {
  writeFileAtomic(join(dir, VOCAB_FILE), serializeVocab(t));
  writeFileAtomic(join(dir, MERGES_FILE), serializeMerges(t));
  writeFileAtomic(join(dir, HF_FILE), JSON.stringify(toHuggingFace(t), null, 2));
  const meta: TokenizerMeta = {
    format: 'lmwb-bpe-tokenizer',
    version: 1,
    special_tokens: t.specials,
    vocab_size: t.vocabSize,
    num_merges: t.merges.length,
    hash: t.hash(),
    ...(opts.trainedOn ? { trained_on: opts.trainedOn } : {}),
    ...(opts.training ? { training: opts.training } : {}),
  };
  // Written last: its presence marks a complete tokenizer folder.
  writeFileAtomic(join(dir, META_FILE), JSON.stringify(meta, null, 2) + '\n');
  return meta;
}

function readText(path: string, what: string): string {
  if (!existsSync(path)) throw new UserError(`${what} not found: ${path}`, { code: 'FILE_NOT_FOUND', data: { path } });
  return readFileSync(path, 'utf8');
}

/**
 * Builds a tokenizer from GPT-2-style vocab.json (token string -> id) and merges.txt texts. Special tokens missing
 * from the vocabulary are appended after the last id.
 */
export function tokenizerFromVocabMerges(vocabJson: string, mergesTxt: string, specials: readonly string[], source = 'vocab.json'): Tokenizer {
  let raw: unknown;
  try {
    raw = JSON.parse(vocabJson);
  } catch (err) {
    throw new UserError(`${source} is not valid JSON (${(err as Error).message}); expected {"token": id, ...}`, { code: 'FILE_INVALID', data: { path: source } });
  }
  const parsed = z.record(z.string(), z.number().int().nonnegative()).safeParse(raw);
  if (!parsed.success) throw new UserError(`${source} must map token strings to non-negative integer ids`, { code: 'FILE_INVALID', data: { path: source } });
  const specialSet = new Set(specials);
  const vocab: Uint8Array[] = [];
  const idOf = new Map<string, number>();
  for (const [tok, id] of Object.entries(parsed.data)) {
    if (vocab[id] !== undefined) throw new UserError(`${source}: id ${id} is used twice`, { code: 'FILE_INVALID', data: { path: source, id } });
    const bytes = specialSet.has(tok) ? new Uint8Array(Buffer.from(tok, 'utf8')) : unicodeToBytes(tok);
    if (bytes === undefined) throw new UserError(`${source}: token ${JSON.stringify(tok)} is not in GPT-2's byte-to-unicode form and is not a special token`, { code: 'FILE_INVALID', data: { path: source, token: tok } });
    vocab[id] = bytes;
    idOf.set(tok, id);
  }
  for (let i = 0; i < vocab.length; i++) if (vocab[i] === undefined) throw new UserError(`${source}: ids are not contiguous (no token has id ${i})`, { code: 'FILE_INVALID', data: { path: source, missingId: i } });
  for (const s of specials) {
    if (!idOf.has(s)) { idOf.set(s, vocab.length); vocab.push(new Uint8Array(Buffer.from(s, 'utf8'))); }
  }
  const merges: Array<[number, number]> = [];
  const lines = mergesTxt.split('\n');
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n].replace(/\r$/, '');
    if (line === '' || (n === 0 && line.startsWith('#version'))) continue;
    const parts = line.split(' ');
    if (parts.length !== 2) throw new UserError(`merges line ${n + 1} is not "A B": ${JSON.stringify(line)}`, { code: 'FILE_INVALID', data: { line: n + 1 } });
    const a = idOf.get(parts[0]);
    const b = idOf.get(parts[1]);
    if (a === undefined || b === undefined) throw new UserError(`merges line ${n + 1}: ${JSON.stringify(line)} uses a token that is not in ${source}`, { code: 'FILE_INVALID', data: { line: n + 1, path: source } });
    merges.push([a, b]);
  }
  const data: TokenizerData = { vocab, merges, specials: [...specials] };
  try {
    return new Tokenizer(data);
  } catch (err) {
    throw new UserError(`cannot build a tokenizer from ${source}: ${(err as Error).message}`, { code: 'FILE_INVALID', data: { path: source, reason: (err as Error).message } });
  }
}

export interface LoadOptions {
  /** Special tokens; default: those in lmwb-tokenizer.json, else '<|endoftext|>' when the vocabulary has it. */
  specials?: string[];
}

/**
 * Loads a tokenizer from a folder (vocab.json + merges.txt, or only a Hugging Face tokenizer.json), or from a
 * tokenizer.json path.
 */
export function loadTokenizer(pathOrDir: string, opts: LoadOptions = {}): Tokenizer {
  if (pathOrDir.endsWith('.json') && existsSync(pathOrDir) && !existsSync(join(pathOrDir, VOCAB_FILE))) {
    return fromHuggingFace(readText(pathOrDir, 'tokenizer.json'), opts.specials);
  }
  const dir = pathOrDir;
  if (!existsSync(dir)) throw new UserError(`tokenizer folder not found: ${dir}`, { code: 'FILE_NOT_FOUND', data: { path: dir } });
  const vocabPath = join(dir, VOCAB_FILE);
  if (!existsSync(vocabPath) && existsSync(join(dir, HF_FILE))) return fromHuggingFace(readText(join(dir, HF_FILE), 'tokenizer.json'), opts.specials);
  const vocabJson = readText(vocabPath, 'vocab.json');
  const mergesTxt = readText(join(dir, MERGES_FILE), 'merges.txt');
  let specials = opts.specials;
  const metaPath = join(dir, META_FILE);
  if (specials === undefined && existsSync(metaPath)) {
    const meta = TokenizerMetaSchema.safeParse(JSON.parse(readFileSync(metaPath, 'utf8')));
    if (meta.success) specials = meta.data.special_tokens;
  }
  if (specials === undefined) specials = DEFAULT_SPECIALS.filter((s) => vocabJson.includes(JSON.stringify(s)));
  return tokenizerFromVocabMerges(vocabJson, mergesTxt, specials, vocabPath);
}

/** Reads lmwb-tokenizer.json of a folder, if present and valid. */
export function readTokenizerMeta(dir: string): TokenizerMeta | undefined {
  const p = join(dir, META_FILE);
  if (!existsSync(p)) return undefined;
  try {
    const r = TokenizerMetaSchema.safeParse(JSON.parse(readFileSync(p, 'utf8')));
    return r.success ? r.data : undefined;
  } catch {
    return undefined;
  }
}

// ---- Hugging Face tokenizer.json (ByteLevel BPE, as GPT-2's) ----

const BYTE_LEVEL = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true };

export function toHuggingFace(t: Tokenizer): Record<string, unknown> {
  const vocab: Record<string, number> = {};
  for (let id = 0; id < t.vocab.length; id++) if (!t.isSpecialId(id)) vocab[bytesToUnicode(t.vocab[id])] = id;
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: t.specials.map((s, i) => ({
      id: t.specialIds[i],
      content: s,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    })),
    normalizer: null,
    pre_tokenizer: BYTE_LEVEL,
    post_processor: { ...BYTE_LEVEL, trim_offsets: false },
    decoder: BYTE_LEVEL,
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      vocab,
      // "a b" strings: the form every version of Hugging Face tokenizers reads (pairs as arrays need >= 0.20);
      // byte-level tokens never contain a space, so it is unambiguous.
      merges: t.merges.map(([a, b]) => `${bytesToUnicode(t.vocab[a])} ${bytesToUnicode(t.vocab[b])}`),
    },
  };
}

const HfSchema = z.object({
  added_tokens: z.array(z.object({ id: z.number().int(), content: z.string(), special: z.boolean().optional() })).optional(),
  pre_tokenizer: z.unknown().optional(),
  model: z.object({
    type: z.string().optional(),
    vocab: z.record(z.string(), z.number().int().nonnegative()),
    merges: z.array(z.union([z.string(), z.tuple([z.string(), z.string()])])),
  }),
});

/** Imports a Hugging Face tokenizer.json whose model is byte-level BPE (GPT-2 style). */
export function fromHuggingFace(json: string, specials?: string[]): Tokenizer {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch (err) {
    throw new UserError(`tokenizer.json is not valid JSON: ${(err as Error).message}`, { code: 'FILE_INVALID', data: { reason: (err as Error).message } });
  }
  const parsed = HfSchema.safeParse(raw);
  if (!parsed.success) throw new UserError('tokenizer.json has no BPE model with vocab and merges; only byte-level BPE tokenizers can be imported', { code: 'FILE_INVALID', data: {} });
  const hf = parsed.data;
  if (hf.model.type !== undefined && hf.model.type !== 'BPE') throw new UserError(`tokenizer.json model type is ${hf.model.type}; only byte-level BPE can be imported`, { code: 'FILE_INVALID', data: { modelType: hf.model.type } });
  const vocab: Record<string, number> = { ...hf.model.vocab };
  const added = hf.added_tokens ?? [];
  for (const a of added) vocab[a.content] = a.id;
  const spec = specials ?? added.filter((a) => a.special !== false).map((a) => a.content);
  const merges = hf.model.merges.map((m) => (typeof m === 'string' ? m : `${m[0]} ${m[1]}`)).join('\n');
  // Re-serialize the vocab to reuse the GPT-2 file reader (ids, byte mapping and checks are the same).
  return tokenizerFromVocabMerges(JSON.stringify(vocab), merges, spec, 'tokenizer.json');
}
