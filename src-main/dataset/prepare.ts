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
import { copyFileSync, existsSync, lstatSync, mkdirSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { UserError } from '../util/errors';
import { writeFileAtomic } from '../util/atomic-write';
import { sha256File } from './hash';
import {
  checkVocabSize,
  encodeFile,
  loadTokenizer,
  manifestPathFor,
  readTokenizerMeta,
  saveTokenizer,
  trainFromFile,
  TokenFileManifestSchema,
  type InvalidUtf8Mode,
  type Tokenizer,
  type TokenFileManifest,
} from '../tokenizer/index';

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

export type PrepareEvent =
  | { kind: 'step'; step: string; status: 'start' | 'reused' | 'done'; detail?: string; /** bytes the step will read */ total?: number }
  | { kind: 'progress'; step: string; done: number; total: number; extra?: string };

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
  /** CLI only: remove partial token files and exit on SIGINT/SIGTERM. */
  exitOnSignal?: boolean;
  onEvent?: (e: PrepareEvent) => void;
}

export interface PrepareResult {
  manifest: DatasetManifest;
  /** Steps that did work (the others were reused). */
  ran: string[];
}

function checkInput(path: string, what: string): number {
  let st;
  try { st = statSync(path); } catch { throw new UserError(`${what} file not found: ${path}`); }
  if (!st.isFile()) throw new UserError(`${what} is not a file: ${path}`);
  if (st.size === 0) throw new UserError(`${what} file ${path} is empty`);
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

function readSplitManifest(bin: string): TokenFileManifest | undefined {
  const mp = manifestPathFor(bin);
  if (!existsSync(mp) || !existsSync(bin)) return undefined;
  try {
    const r = TokenFileManifestSchema.safeParse(JSON.parse(readFileSync(mp, 'utf8')));
    if (!r.success) return undefined;
    if (statSync(bin).size !== r.data.num_tokens * 2) return undefined;
    return r.data;
  } catch {
    return undefined;
  }
}

export async function prepareDataset(o: PrepareOptions): Promise<PrepareResult> {
  checkVocabSize(o.vocabSize, o.specials);
  if (o.vocabSize > 65536) throw new UserError(`vocab size ${o.vocabSize} does not fit uint16 token files (at most 65536)`);
  const ev = o.onEvent ?? (() => {});
  const ran: string[] = [];
  const sizes: Record<string, number> = { train: checkInput(o.train, 'training') };
  if (o.valid !== undefined) sizes.valid = checkInput(o.valid, 'validation');
  const dir = o.dir;
  mkdirSync(join(dir, 'raw'), { recursive: true });

  // 1. Hash the inputs (what tells a changed file apart).
  const sources: DatasetManifest['sources'] = {};
  for (const split of Object.keys(sizes)) {
    const path = split === 'train' ? o.train : (o.valid as string);
    ev({ kind: 'step', step: `hash ${split}`, status: 'start', total: sizes[split] });
    const sha256 = await sha256File(path, (n) => ev({ kind: 'progress', step: `hash ${split}`, done: n, total: sizes[split] }));
    sources[split] = { path: resolve(path), size: sizes[split], sha256 };
    ev({ kind: 'step', step: `hash ${split}`, status: 'done', detail: sha256.slice(0, 16) });
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
  if (tokenizer) ev({ kind: 'step', step: 'tokenizer', status: 'reused', detail: tokDir });
  else {
    ev({ kind: 'step', step: 'tokenizer', status: 'start', total: sizes.train });
    const { tokenizer: t, stats } = await trainFromFile(o.train, {
      vocabSize: o.vocabSize,
      specials: o.specials,
      workers: o.workers,
      invalidUtf8: o.invalidUtf8,
      onProgress: (phase, done, total) => ev({ kind: 'progress', step: phase === 'count' ? 'tokenizer' : 'tokenizer: merge', done, total }),
    });
    saveTokenizer(t, tokDir, {
      trainedOn: { path: sources.train.path, size: sources.train.size, sha256: sources.train.sha256 },
      training: { vocab_size_requested: o.vocabSize, unique_pretokens: stats.uniquePretokens, seconds: Math.round(stats.totalSeconds * 1000) / 1000 },
    });
    tokenizer = t;
    ran.push('tokenizer');
    ev({ kind: 'step', step: 'tokenizer', status: 'done', detail: `${t.vocabSize} tokens in ${stats.totalSeconds.toFixed(1)} s` });
  }

  // 3. Token files.
  const splits: DatasetManifest['splits'] = {};
  for (const split of Object.keys(sizes)) {
    const bin = join(dir, `${split}.bin`);
    const have = readSplitManifest(bin);
    if (have && have.source.sha256 === sources[split].sha256 && have.tokenizer_hash === tokenizer.hash()) {
      ev({ kind: 'step', step: `encode ${split}`, status: 'reused', detail: bin });
      splits[split] = { file: `${split}.bin`, num_tokens: have.num_tokens, dtype: 'uint16' };
      continue;
    }
    ev({ kind: 'step', step: `encode ${split}`, status: 'start', total: sizes[split] });
    const r = await encodeFile(tokenizer, sources[split].path, bin, {
      workers: o.workers,
      exitOnSignal: o.exitOnSignal,
      invalidUtf8: o.invalidUtf8,
      onProgress: (done, total, tokens) => ev({ kind: 'progress', step: `encode ${split}`, done, total, extra: `${tokens} tokens` }),
    });
    splits[split] = { file: `${split}.bin`, num_tokens: r.manifest.num_tokens, dtype: 'uint16' };
    ran.push(`encode ${split}`);
    ev({ kind: 'step', step: `encode ${split}`, status: 'done', detail: `${r.manifest.num_tokens} tokens, ${(sources[split].size / 1e6 / r.seconds).toFixed(1)} MB/s` });
  }

  const manifest: DatasetManifest = {
    format: 'lmwb-dataset',
    version: 1,
    name: dir.replace(/\/+$/, '').split('/').pop() ?? 'dataset',
    created_at: new Date().toISOString(),
    sources,
    tokenizer: { dir: 'tokenizer', hash: tokenizer.hash(), vocab_size: tokenizer.vocabSize, special_tokens: tokenizer.specials },
    splits,
  };
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
  if (!existsSync(mp)) throw new UserError(`${dir} is not a dataset folder (no dataset.json); create one with \`lmwb dataset prepare\``);
  const r = DatasetManifestSchema.safeParse(JSON.parse(readFileSync(mp, 'utf8')));
  if (!r.success) throw new UserError(`${mp} is not a valid dataset manifest`);
  return r.data;
}

/** Default folder name: the training file's name without extension and split suffix, plus the vocab size. */
export function defaultDatasetDir(train: string, vocabSize: number, root = 'datasets'): string {
  const base = (train.split('/').pop() ?? 'dataset').replace(/\.(txt|text)$/i, '').replace(/[-_.]?train$/i, '') || 'dataset';
  return join(root, `${base}-bpe${vocabSize}`);
}
