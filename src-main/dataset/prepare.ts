// `dataset prepare`: raw text -> tokenizer -> train.bin / valid.bin in one dataset folder, idempotently. Each step
// is skipped when its output exists and was made from the same inputs (compared by sha256 of the text files, the
// vocabulary size, the special tokens, and the tokenizer hash).
//
// Folder layout:
//   dataset.json           manifest (sources with size + sha256, tokenizer hash, token counts)
//   raw/train.txt          symbolic link to the training text (a copy with copyRaw)
//   raw/valid.txt          symbolic link to the validation text
//   tokenizer/             vocab.json, merges.txt, tokenizer.json, lmwb-tokenizer.json
//   train.bin, valid.bin   uint16 token files, with train.bin.json / valid.bin.json manifests
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

export const DatasetManifestSchema = z.object({
  format: z.literal('lmwb-dataset'),
  version: z.literal(1),
  name: z.string(),
  created_at: z.string(),
  sources: z.record(z.string(), z.object({ path: z.string(), size: z.number(), sha256: z.string() })),
  tokenizer: z.object({ dir: z.string(), hash: z.string(), vocab_size: z.number(), special_tokens: z.array(z.string()) }),
  splits: z.record(z.string(), z.object({ file: z.string(), num_tokens: z.number(), dtype: z.literal('uint16') })),
});
export type DatasetManifest = z.infer<typeof DatasetManifestSchema>;

export type PrepareEvent = DataEvent;

export interface PrepareOptions {
  train: string;
  valid?: string;
  vocabSize: number;
  specials: string[];
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

export async function prepareDataset(o: PrepareOptions): Promise<PrepareResult> {
  checkVocabSize(o.vocabSize, o.specials);
  if (o.vocabSize > 65536) throw new UserError(`vocab size ${o.vocabSize} does not fit uint16 token files (at most 65536)`, { code: 'INVALID_ARGUMENT', data: { vocabSize: o.vocabSize, max: 65536 } });
  const ev = o.onEvent ?? (() => {});
  const signal = o.signal;
  throwIfAborted(signal, 'dataset preparation');
  const ran: string[] = [];
  const sizes: Record<string, number> = { train: checkInput(o.train, 'training') };
  if (o.valid !== undefined) sizes.valid = checkInput(o.valid, 'validation');
  const dir = o.dir;
  mkdirSync(join(dir, 'raw'), { recursive: true });

  // 1. Hash the inputs (what tells a changed file apart).
  const sources: DatasetManifest['sources'] = {};
  for (const split of Object.keys(sizes)) {
    const path = split === 'train' ? o.train : (o.valid as string);
    ev({ type: 'phase', task: `hash ${split}`, status: 'start', total: sizes[split], unit: 'bytes' });
    const sha256 = await sha256File(path, (n) => ev({ type: 'progress', task: 'hash', done: n, total: sizes[split], unit: 'bytes', detail: split }), signal);
    sources[split] = { path: resolve(path), size: sizes[split], sha256 };
    ev({ type: 'phase', task: `hash ${split}`, status: 'done', detail: sha256.slice(0, 16), data: { sha256 } });
    linkRaw(path, join(dir, 'raw', `${split}.txt`), o.copyRaw ?? false);
  }

  // 2. Tokenizer.
  const tokDir = join(dir, 'tokenizer');
  const meta = readTokenizerMeta(tokDir);
  let tokenizer: Tokenizer | undefined;
  if (
    meta?.trained_on?.sha256 === sources.train.sha256 &&
    meta.training?.vocab_size_requested === o.vocabSize &&
    JSON.stringify(meta.special_tokens) === JSON.stringify(o.specials)
  ) {
    try {
      tokenizer = loadTokenizer(tokDir);
      if (tokenizer.hash() !== meta.hash) tokenizer = undefined;
    } catch {
      tokenizer = undefined;
    }
  }
  if (tokenizer) ev({ type: 'phase', task: 'tokenizer', status: 'reused', detail: tokDir });
  else {
    ev({ type: 'phase', task: 'tokenizer', status: 'start', total: sizes.train, unit: 'bytes' });
    const { tokenizer: t, stats } = await trainFromFile(o.train, {
      vocabSize: o.vocabSize,
      specials: o.specials,
      workers: o.workers,
      invalidUtf8: o.invalidUtf8,
      onEvent: (e) => ev(e.type === 'progress' ? { ...e, detail: 'train' } : e),
      signal,
    });
    throwIfAborted(signal, 'dataset preparation');
    saveTokenizer(t, tokDir, {
      trainedOn: { path: sources.train.path, size: sources.train.size, sha256: sources.train.sha256 },
      training: { vocab_size_requested: o.vocabSize, unique_pretokens: stats.uniquePretokens, seconds: Math.round(stats.totalSeconds * 1000) / 1000 },
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
    const r = await encodeFile(tokenizer, sources[split].path, bin, {
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
    tokenizer: { dir: 'tokenizer', hash: tokenizer.hash(), vocab_size: tokenizer.vocabSize, special_tokens: tokenizer.specials },
    splits,
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
export function defaultDatasetDir(train: string, vocabSize: number, root: string): string {
  const base = (train.split('/').pop() ?? 'dataset').replace(/\.(txt|text)$/i, '').replace(/[-_.]?train$/i, '') || 'dataset';
  return join(root, `${base}-bpe${vocabSize}`);
}
