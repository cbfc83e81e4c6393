// `dataset prepare`: raw text -> tokenizer -> train.bin / valid.bin in one dataset folder, idempotently. Each step
// is skipped when its output exists and was made from the same inputs (compared by sha256 of the text files, the
// vocabulary size, the special tokens, and the tokenizer hash).
//
// Folder layout:
//   dataset.json           manifest (sources with size + sha256, tokenizer hash, token counts)
//   raw/train.txt          symbolic link to the training text (a copy with copyRaw)
//   raw/valid.txt          symbolic link to the validation text
//                          (with validFraction: the two parts of the training text, real files, + raw/holdout.json)
//   tokenizer/             vocab.json, merges.txt, tokenizer.json, lmwb-tokenizer.json
//   train.bin, valid.bin   uint16 token files, with train.bin.json / valid.bin.json manifests
//
// The tokenizer is trained on the training text (the default), copied from another tokenizer folder (a dataset's
// tokenizer/, a GPT-2 vocab.json + merges.txt folder, or a Hugging Face tokenizer.json), or byte level (the 256
// byte tokens plus the special tokens, no merges: what a BPE trained to 256 + specials gives, without the training).
// The dataset's own tokenizer/ is always a complete copy, so the folder stands alone (rsync it to a cluster).
//
// Events: PhaseEvent per step (start / reused / done) and the steps' ProgressEvents ('hash', 'count', 'merge',
// 'encode'; `detail` names the split). An AbortSignal stops it promptly (AbortedError): every output is written to
// a temporary file and renamed, so what was there before stays intact and nothing half-written is left.
import { copyFileSync, existsSync, lstatSync, mkdirSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { z } from 'zod';
import { throwIfAborted, UserError } from '../util/errors';
import { writeFileAtomic } from '../util/atomic-write';
import type { DataEvent } from '../engine/events';
import { sha256File } from './hash';
import { checkValidFraction, holdOut } from './holdout';
import {
  checkVocabSize,
  encodeFile,
  loadTokenizer,
  readTokenizerMeta,
  saveTokenizer,
  trainFromFile,
  type InvalidUtf8Mode,
  type Tokenizer,
} from '../tokenizer/index';
import { lookupTokenFileManifest } from '../tokenizer/token-file';
import { buildTokenizer } from '../tokenizer/train';

export const DatasetManifestSchema = z.object({
  format: z.literal('lmwb-dataset'),
  version: z.literal(1),
  name: z.string(),
  created_at: z.string(),
  sources: z.record(z.string(), z.object({ path: z.string(), size: z.number(), sha256: z.string() })),
  tokenizer: z.object({
    dir: z.string(),
    hash: z.string(),
    vocab_size: z.number(),
    special_tokens: z.array(z.string()),
    /** How it was made (absent in manifests older than the field: trained). */
    origin: z.enum(['trained', 'copied', 'bytes']).optional(),
    /** The folder or file it was copied from (origin "copied"). */
    copied_from: z.string().optional(),
  }),
  splits: z.record(z.string(), z.object({ file: z.string(), num_tokens: z.number(), dtype: z.literal('uint16') })),
  /** The validation split was held out of the training text: the text, the fraction asked for and the cut. */
  holdout: z.object({ source: z.object({ path: z.string(), size: z.number(), sha256: z.string() }), valid_fraction: z.number(), cut: z.number() }).optional(),
});
export type DatasetManifest = z.infer<typeof DatasetManifestSchema>;

export type PrepareEvent = DataEvent;

/** Where the dataset's tokenizer comes from. */
export type TokenizerSource =
  /** Trained on the training text with `vocabSize` and `specials` (the default). */
  | { kind: 'train' }
  /** Copied from a tokenizer folder or tokenizer.json (its own special tokens; `vocabSize`/`specials` unused). */
  | { kind: 'copy'; from: string }
  /** Byte level: 256 byte tokens + `specials`, no merges (`vocabSize` unused). */
  | { kind: 'bytes' };

export interface PrepareOptions {
  train: string;
  valid?: string;
  /** The vocabulary size to train to (needed when the tokenizer is trained). */
  vocabSize?: number;
  specials: string[];
  /** Default: trained on the training text. */
  tokenizer?: TokenizerSource;
  /**
   * Without a validation text: hold out the end of the training text (this fraction, cut at a document boundary)
   * as the validation split. The two parts are written into the folder's raw/ (sources name them relative to it).
   */
  validFraction?: number;
  dir: string;
  workers?: number;
  invalidUtf8?: InvalidUtf8Mode;
  /** Copy the raw text into the folder instead of linking to it. */
  copyRaw?: boolean;
  onEvent?: (e: PrepareEvent) => void;
  /** Cancels the preparation: AbortedError; finished steps are kept, the running one leaves nothing behind. */
  signal?: AbortSignal;
}

export interface PrepareResult {
  manifest: DatasetManifest;
  /** Steps that did work (the others were reused). */
  ran: string[];
}

function checkInput(path: string, what: string): number {
  let st;
  try { st = statSync(path); } catch { throw new UserError(`${what} file not found: ${path}`, { code: 'FILE_NOT_FOUND', data: { path, role: what } }); }
  if (!st.isFile()) throw new UserError(`${what} is not a file: ${path}`, { code: 'FILE_INVALID', data: { path, role: what } });
  if (st.size === 0) throw new UserError(`${what} file ${path} is empty`, { code: 'FILE_INVALID', data: { path, role: what, size: 0 } });
  return st.size;
}

function linkRaw(src: string, dst: string, copy: boolean): void {
  const abs = resolve(src);
  let existing: string | undefined;
  try { existing = lstatSync(dst).isSymbolicLink() ? readlinkSync(dst) : 'copy'; } catch { existing = undefined; }
  if (existing === abs) return;
  if (existing !== undefined) rmSync(dst, { force: true });
  if (copy) copyFileSync(abs, dst);
  else symlinkSync(abs, dst);
}

/** Checks a vocabulary size to train to: room for the bytes and specials, and ids that fit uint16 token files. */
export function checkDatasetVocabSize(vocabSize: number | undefined, specials: readonly string[]): number {
  if (vocabSize === undefined) throw new UserError('a vocabulary size is needed to train a tokenizer (e.g. 10000 for TinyStories, 32000 for OWT)', { code: 'INVALID_ARGUMENT', data: {} });
  checkVocabSize(vocabSize, specials);
  if (vocabSize > 65536) throw new UserError(`vocab size ${vocabSize} does not fit uint16 token files (at most 65536)`, { code: 'INVALID_ARGUMENT', data: { vocabSize, max: 65536 } });
  return vocabSize;
}

/** The tokenizer a copy source names: a dataset folder (its tokenizer/), a tokenizer folder, or a tokenizer.json. */
export function loadTokenizerSource(from: string): { tokenizer: Tokenizer; dir: string } {
  const dir = existsSync(join(from, 'dataset.json')) ? join(from, readDatasetManifest(from).tokenizer.dir) : from;
  const tokenizer = loadTokenizer(dir);
  if (tokenizer.vocabSize > 65536) {
    throw new UserError(`the tokenizer in ${dir} has ${tokenizer.vocabSize} tokens, more than uint16 token files hold (65536)`, { code: 'INVALID_ARGUMENT', data: { path: dir, vocabSize: tokenizer.vocabSize, max: 65536 } });
  }
  return { tokenizer, dir: resolve(dir) };
}

/** The byte-level tokenizer with special tokens: ids laid out as a trained one's (specials first, then the bytes). */
export function byteLevelTokenizer(specials: readonly string[]): Tokenizer {
  return buildTokenizer(Array.from({ length: 256 }, (_, b) => Uint8Array.of(b)), [], [...specials]);
}

/** The dataset's tokenizer/ folder, when it is complete and has this hash. */
function loadIfHash(tokDir: string, hash: string): Tokenizer | undefined {
  const meta = readTokenizerMeta(tokDir);
  if (meta?.hash !== hash) return undefined;
  try {
    const t = loadTokenizer(tokDir);
    return t.hash() === hash ? t : undefined;
  } catch {
    return undefined;
  }
}

export async function prepareDataset(o: PrepareOptions): Promise<PrepareResult> {
  const source: TokenizerSource = o.tokenizer ?? { kind: 'train' };
  const vocabSize = source.kind === 'train' ? checkDatasetVocabSize(o.vocabSize, o.specials) : 0;
  // A copy source is read (and checked) before any work, so a wrong folder fails at once.
  const copy = source.kind === 'copy' ? loadTokenizerSource(source.from) : undefined;
  const ev = o.onEvent ?? (() => {});
  const signal = o.signal;
  throwIfAborted(signal, 'dataset preparation');
  const ran: string[] = [];
  if (o.validFraction !== undefined) {
    if (o.valid !== undefined) throw new UserError('give either a validation text or a fraction of the training text to hold out, not both', { code: 'INVALID_ARGUMENT', data: {} });
    checkValidFraction(o.validFraction);
  }
  const sizes: Record<string, number> = { train: checkInput(o.train, 'training') };
  if (o.valid !== undefined) sizes.valid = checkInput(o.valid, 'validation');
  const dir = o.dir;
  mkdirSync(join(dir, 'raw'), { recursive: true });

  // 1. Hash the inputs (what tells a changed file apart).
  const sources: DatasetManifest['sources'] = {};
  /** The files the later steps read, per split (a held-out split reads its parts in raw/). */
  const inputs: Record<string, string> = {};
  for (const split of Object.keys(sizes)) {
    const path = split === 'train' ? o.train : (o.valid as string);
    ev({ type: 'phase', task: `hash ${split}`, status: 'start', total: sizes[split], unit: 'bytes' });
    const sha256 = await sha256File(path, (n) => ev({ type: 'progress', task: 'hash', done: n, total: sizes[split], unit: 'bytes', detail: split }), signal);
    sources[split] = { path: resolve(path), size: sizes[split], sha256 };
    inputs[split] = resolve(path);
    ev({ type: 'phase', task: `hash ${split}`, status: 'done', detail: sha256.slice(0, 16), data: { sha256 } });
    if (o.validFraction === undefined) linkRaw(path, join(dir, 'raw', `${split}.txt`), o.copyRaw ?? false);
  }
  let holdout: DatasetManifest['holdout'];
  if (o.validFraction === undefined) rmSync(join(dir, 'raw', 'holdout.json'), { force: true });
  else {
    throwIfAborted(signal, 'dataset preparation');
    const source = sources.train;
    const { record, reused } = await holdOut(source, o.validFraction, o.specials, join(dir, 'raw'), ev, signal);
    if (!reused) ran.push('split');
    holdout = { source, valid_fraction: record.valid_fraction, cut: record.cut };
    for (const split of ['train', 'valid']) {
      const part = record.parts[split];
      sources[split] = { path: `raw/${split}.txt`, size: part.size, sha256: part.sha256 };
      sizes[split] = part.size;
      inputs[split] = join(dir, 'raw', `${split}.txt`);
    }
  }

  // 2. Tokenizer.
  const tokDir = join(dir, 'tokenizer');
  let tokenizer: Tokenizer | undefined;
  let origin: 'trained' | 'copied' | 'bytes' = 'trained';
  if (source.kind === 'train') {
    const meta = readTokenizerMeta(tokDir);
    if (
      meta?.trained_on?.sha256 === sources.train.sha256 &&
      meta.training?.vocab_size_requested === vocabSize &&
      meta.training?.copied_from === undefined &&
      JSON.stringify(meta.special_tokens) === JSON.stringify(o.specials)
    ) {
      tokenizer = loadIfHash(tokDir, meta.hash);
    }
  } else {
    // A copied or byte-level tokenizer is known before any work: reuse the folder when it holds the same one.
    const want = copy ? copy.tokenizer : byteLevelTokenizer(o.specials);
    origin = copy ? 'copied' : 'bytes';
    tokenizer = loadIfHash(tokDir, want.hash());
    if (!tokenizer) {
      ev({ type: 'phase', task: 'tokenizer', status: 'start', detail: copy ? `copy from ${copy.dir}` : 'byte level' });
      const srcMeta = copy ? readTokenizerMeta(copy.dir) : undefined;
      throwIfAborted(signal, 'dataset preparation');
      saveTokenizer(want, tokDir, {
        trainedOn: srcMeta?.trained_on,
        training: copy ? { ...(srcMeta?.training ?? {}), copied_from: copy.dir } : { byte_level: true },
      });
      tokenizer = want;
      ran.push('tokenizer');
      ev({ type: 'phase', task: 'tokenizer', status: 'done', detail: `${want.vocabSize} tokens (${copy ? 'copied' : 'byte level'})`, data: { vocabSize: want.vocabSize, seconds: 0 } });
    }
  }
  if (tokenizer && !ran.includes('tokenizer')) ev({ type: 'phase', task: 'tokenizer', status: 'reused', detail: tokDir });
  else if (!tokenizer) {
    ev({ type: 'phase', task: 'tokenizer', status: 'start', total: sizes.train, unit: 'bytes' });
    const { tokenizer: t, stats } = await trainFromFile(inputs.train, {
      vocabSize,
      specials: o.specials,
      workers: o.workers,
      invalidUtf8: o.invalidUtf8,
      onEvent: (e) => ev(e.type === 'progress' ? { ...e, detail: 'train' } : e),
      signal,
    });
    throwIfAborted(signal, 'dataset preparation');
    saveTokenizer(t, tokDir, {
      trainedOn: { path: sources.train.path, size: sources.train.size, sha256: sources.train.sha256 },
      training: { vocab_size_requested: vocabSize, unique_pretokens: stats.uniquePretokens, seconds: Math.round(stats.totalSeconds * 1000) / 1000 },
    });
    tokenizer = t;
    ran.push('tokenizer');
    ev({ type: 'phase', task: 'tokenizer', status: 'done', detail: `${t.vocabSize} tokens in ${stats.totalSeconds.toFixed(1)} s`, data: { vocabSize: t.vocabSize, seconds: stats.totalSeconds } });
  }

  // 3. Token files.
  const splits: DatasetManifest['splits'] = {};
  for (const split of Object.keys(sizes)) {
    const bin = join(dir, `${split}.bin`);
    const look = lookupTokenFileManifest(bin);
    const have = look.status === 'ok' ? look.manifest : undefined;
    if (have && have.source.sha256 === sources[split].sha256 && have.tokenizer_hash === tokenizer.hash()) {
      ev({ type: 'phase', task: `encode ${split}`, status: 'reused', detail: bin });
      splits[split] = { file: `${split}.bin`, num_tokens: have.num_tokens, dtype: 'uint16' };
      continue;
    }
    ev({ type: 'phase', task: `encode ${split}`, status: 'start', total: sizes[split], unit: 'bytes' });
    const r = await encodeFile(tokenizer, inputs[split], bin, {
      workers: o.workers,
      invalidUtf8: o.invalidUtf8,
      onEvent: (e) => ev(e.type === 'progress' ? { ...e, detail: split } : e),
      signal,
    });
    splits[split] = { file: `${split}.bin`, num_tokens: r.manifest.num_tokens, dtype: 'uint16' };
    ran.push(`encode ${split}`);
    ev({ type: 'phase', task: `encode ${split}`, status: 'done', detail: `${r.manifest.num_tokens} tokens, ${(sources[split].size / 1e6 / r.seconds).toFixed(1)} MB/s`, data: { numTokens: r.manifest.num_tokens, seconds: r.seconds } });
  }

  const manifest: DatasetManifest = {
    format: 'lmwb-dataset',
    version: 1,
    name: basename(resolve(dir)) || 'dataset',
    created_at: new Date().toISOString(),
    sources,
    tokenizer: {
      dir: 'tokenizer',
      hash: tokenizer.hash(),
      vocab_size: tokenizer.vocabSize,
      special_tokens: tokenizer.specials,
      origin,
      ...(copy ? { copied_from: copy.dir } : {}),
    },
    splits,
    ...(holdout ? { holdout } : {}),
  };
  throwIfAborted(signal, 'dataset preparation');
  const mp = join(dir, 'dataset.json');
  let previous: DatasetManifest | undefined;
  try { previous = DatasetManifestSchema.parse(JSON.parse(readFileSync(mp, 'utf8'))); } catch { previous = undefined; }
  if (previous && ran.length === 0) manifest.created_at = previous.created_at;
  writeFileAtomic(mp, JSON.stringify(manifest, null, 2) + '\n');
  return { manifest, ran };
}

/** Reads a dataset folder's manifest. */
export function readDatasetManifest(dir: string): DatasetManifest {
  const mp = join(dir, 'dataset.json');
  if (!existsSync(mp)) throw new UserError(`${dir} is not a dataset folder (no dataset.json); prepare a dataset there first`, { code: 'FILE_NOT_FOUND', data: { path: mp } });
  let json: unknown;
  try { json = JSON.parse(readFileSync(mp, 'utf8')); } catch (err) { throw new UserError(`${mp} is not valid JSON (${(err as Error).message})`, { code: 'FILE_INVALID', data: { path: mp } }); }
  const r = DatasetManifestSchema.safeParse(json);
  if (!r.success) throw new UserError(`${mp} is not a valid dataset manifest: ${r.error.issues[0]?.message ?? 'invalid'}`, { code: 'FILE_INVALID', data: { path: mp } });
  return r.data;
}

/**
 * Default folder for a dataset under `root` (the front end's datasets folder): the training file's name without
 * extension and split suffix, plus the vocab size.
 */
export function defaultDatasetDir(train: string, vocabSize: number | 'bytes', root: string): string {
  const base = (train.split('/').pop() ?? 'dataset').replace(/\.(txt|text)$/i, '').replace(/[-_.]?train$/i, '') || 'dataset';
  return join(root, vocabSize === 'bytes' ? `${base}-bytes` : `${base}-bpe${vocabSize}`);
}
