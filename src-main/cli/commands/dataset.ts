// `lmwb dataset prepare|download`: from raw text downloads to a dataset folder with token files. The default
// folders (datasets/, data/) are under the workspace (LMWB_HOME, else the current folder), chosen here, not in
// the engine. `prepare --events ndjson` is the machine-readable form the app's supervisor (server/dataset-jobs.ts)
// reads: dataset/events.ts PrepareStreamEvent, one per line, ending with `done` or `error`.
import type { Command } from 'commander';
import { join, resolve } from 'node:path';
import { errorInfo, UserError } from '../../util/errors';
import { resolveWorkspace } from '../../util/paths';
import { createEventRenderer, formatAmount } from '../progress';
import { INVALID_UTF8_HINT, runOperation } from '../operation';
import { DEFAULT_SPECIALS, type InvalidUtf8Mode } from '../../tokenizer/index';
import {
  defaultDatasetDir, defaultDest, download, KNOWN_SOURCES, loadTokenizerSource, prepareDataset, type PrepareStreamEvent, type TokenizerSource,
} from '../../dataset/index';
import { parseIntOption, parseInvalidUtf8, parseWorkers, peakRssMB } from './tokenizer';

const collect = (v: string, prev: string[] | undefined) => [...(prev ?? []), v];

function parseFraction(v: string): number {
  const f = Number(v);
  if (!Number.isFinite(f)) throw new UserError(`--valid-fraction takes a number such as 0.1, got "${v}"`, { code: 'INVALID_ARGUMENT' });
  return f;
}

interface PrepareFlags {
  train: string;
  valid?: string;
  validFraction?: number;
  vocabSize?: number;
  tokenizerFrom?: string;
  byteLevel?: boolean;
  special?: string[];
  out?: string;
  workers?: number;
  invalidUtf8: InvalidUtf8Mode;
  copyRaw?: boolean;
  events?: string;
}

function tokenizerSource(o: PrepareFlags): TokenizerSource {
  const given = [o.vocabSize !== undefined, o.tokenizerFrom !== undefined, o.byteLevel === true].filter(Boolean).length;
  if (given === 0) throw new UserError('give --vocab-size N to train a tokenizer, --tokenizer-from DIR to use an existing one, or --byte-level', { code: 'INVALID_ARGUMENT' });
  if (given > 1) throw new UserError('give only one of --vocab-size, --tokenizer-from and --byte-level', { code: 'INVALID_ARGUMENT' });
  if (o.tokenizerFrom !== undefined) {
    if (o.special) throw new UserError('--special does not apply with --tokenizer-from: the copied tokenizer keeps its own special tokens', { code: 'INVALID_ARGUMENT' });
    return { kind: 'copy', from: o.tokenizerFrom };
  }
  return o.byteLevel ? { kind: 'bytes' } : { kind: 'train' };
}

async function prepare(o: PrepareFlags, ndjson: boolean, print: (e: PrepareStreamEvent) => void): Promise<void> {
  const source = tokenizerSource(o);
  const root = join(resolveWorkspace(undefined, process.cwd()), 'datasets');
  const dir = resolve(o.out ?? (source.kind === 'copy'
    ? defaultDatasetDir(o.train, loadTokenizerSource(source.from).tokenizer.vocabSize, root)
    : defaultDatasetDir(o.train, source.kind === 'bytes' ? 'bytes' : (o.vocabSize as number), root)));
  const t0 = performance.now();
  // In ndjson mode stdout carries only the events; the human progress stays off (the supervisor draws its own).
  const view = ndjson ? undefined : createEventRenderer();
  const { manifest, ran } = await runOperation(
    (signal) => prepareDataset({
      train: o.train,
      valid: o.valid,
      validFraction: o.validFraction,
      vocabSize: o.vocabSize,
      specials: o.special ?? DEFAULT_SPECIALS,
      tokenizer: source,
      dir,
      workers: o.workers,
      invalidUtf8: o.invalidUtf8,
      copyRaw: o.copyRaw,
      onEvent: (e) => {
        view?.onEvent(e);
        print(e);
      },
      signal,
    }),
    {
      INVALID_UTF8: INVALID_UTF8_HINT,
      ABORTED: `; the steps finished so far are kept in ${dir}, the one running left nothing behind (run the same command to continue)`,
    },
  ).finally(() => view?.stop());
  print({ type: 'done', dir, manifest, ran });
  const splits = Object.entries(manifest.splits).map(([k, v]) => `${k} ${formatAmount(v.num_tokens, 'tokens')}`).join(', ');
  process.stderr.write(`dataset ${dir}: ${splits}; ${ran.length === 0 ? 'nothing to do' : `ran ${ran.join(', ')}`} in ${((performance.now() - t0) / 1000).toFixed(1)} s, peak RSS ${peakRssMB().toFixed(0)} MB\n`);
}

export function registerDataset(program: Command): void {
  const cmd = program.command('dataset').description('prepare token datasets from raw text (download, tokenizer, token files)');

  cmd
    .command('prepare')
    .description('train a tokenizer on --train (or copy one, or use bytes) and encode --train/--valid into a dataset folder (re-running reuses what is up to date)')
    .requiredOption('--train <file>', 'training text')
    .option('--valid <file>', 'validation text (without one the dataset has no valid.bin, and runs on it report no validation loss)')
    .option('--valid-fraction <f>', 'without --valid: hold out this fraction of --train (cut at a document boundary) as the validation split', parseFraction)
    .option('--vocab-size <n>', 'vocabulary size to train to (e.g. 10000 for TinyStories, 32000 for OWT)', parseIntOption('--vocab-size'))
    .option('--tokenizer-from <dir>', 'use this tokenizer instead of training one: a dataset folder, a tokenizer folder or a tokenizer.json (copied into the dataset)')
    .option('--byte-level', 'use the byte-level tokenizer (256 byte tokens + the special tokens, no merges) instead of training one')
    .option('--special <token>', 'special token (repeat for several; default <|endoftext|>)', collect)
    .option('--out <dir>', 'dataset folder (default: datasets/<train name>-bpe<vocab size> in the workspace)')
    .option('--workers <n>', 'worker threads (default: number of cores; 0 = main thread only)', parseWorkers)
    .option('--invalid-utf8 <mode>', 'invalid UTF-8 in the input: error | replace', parseInvalidUtf8, 'error')
    .option('--copy-raw', 'copy the raw text into the folder instead of linking to it')
    .option('--events <format>', 'print every event on stdout, one JSON object per line (format: ndjson), ending with a done or error event')
    .action(async (o: PrepareFlags) => {
      if (o.events !== undefined && o.events !== 'ndjson') throw new UserError(`--events takes "ndjson", got "${o.events}"`, { code: 'INVALID_ARGUMENT' });
      const ndjson = o.events === 'ndjson';
      const print = (e: PrepareStreamEvent) => {
        if (ndjson) process.stdout.write(`${JSON.stringify(e)}\n`);
      };
      try {
        await prepare(o, ndjson, print);
      } catch (e) {
        // The event carries the engine's own message: the supervisor is a front end and adds its own hints, not
        // this command's flag names (runOperation keeps the unhinted error as the cause).
        print({ type: 'error', error: errorInfo(e instanceof UserError && e.cause instanceof UserError ? e.cause : e) });
        throw e;
      }
    });

  cmd
    .command('download')
    .description(`download raw data, resumable, with size/sha256 checks. SOURCE is a URL or one of: ${Object.keys(KNOWN_SOURCES).join(', ')}`)
    .argument('<source>', 'URL or known source name')
    .option('--out <dir>', 'folder to download into (default: data/ in the workspace)')
    .option('--sha256 <hex>', 'expected sha256 of the downloaded file (checked; the computed one is always recorded)')
    .option('--size <bytes>', 'expected size in bytes', parseIntOption('--size'))
    .option('--gunzip', 'decompress a .gz download next to it (default for the OWT sources)')
    .option('--no-gunzip', 'keep .gz downloads compressed')
    .option('--retries <n>', 'retries after a dropped connection', parseIntOption('--retries'), 8)
    .action(async (source: string, o: { out?: string; sha256?: string; size?: number; gunzip?: boolean; retries: number }) => {
      const known = KNOWN_SOURCES[source];
      const url = known ? known.url : source;
      if (!known && !/^https?:\/\//.test(source)) {
        throw new UserError(`unknown source ${JSON.stringify(source)}: give a http(s) URL or one of ${Object.keys(KNOWN_SOURCES).join(', ')}`, { code: 'INVALID_ARGUMENT', data: { source } });
      }
      const dest = defaultDest(url, o.out ?? join(resolveWorkspace(undefined, process.cwd()), 'data'));
      const gunzip = o.gunzip ?? dest.endsWith('.gz');
      const view = createEventRenderer();
      const rec = await runOperation(
        (signal) => download(url, dest, { sha256: o.sha256, size: o.size, gunzip, retries: o.retries, onEvent: (e) => view.onEvent(e), signal }),
        {
          INVALID_ARGUMENT: (e) => ('sha256' in e.data ? '(--sha256)' : 'path' in e.data ? '(--gunzip is for .gz files)' : ''),
          FILE_INVALID: (e) => ('expectedSize' in e.data ? '(--size)' : 'expectedSha256' in e.data ? '(--sha256)' : ''),
          NETWORK: (e) => ('resumeAt' in e.data ? '(the same command resumes it)' : ''),
          ABORTED: `; the partial download ${dest}.part is kept and the same command resumes it`,
        },
      ).finally(() => view.stop());
      process.stderr.write(`${dest}: ${formatAmount(rec.size, 'B')}, sha256 ${rec.sha256}${rec.sha256_checked ? ' (matches --sha256)' : ' (recorded; pass --sha256 to check it next time)'}${rec.gunzipped_to ? `, decompressed to ${rec.gunzipped_to} (${formatAmount(rec.gunzipped_size ?? 0, 'B')})` : ''}\n`);
    });
}
