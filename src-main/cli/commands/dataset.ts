// `lmwb dataset prepare|download`: from raw text downloads to a dataset folder with token files.
import type { Command } from 'commander';
import { UserError } from '../../util/errors';
import { createProgress, formatAmount, type Progress } from '../progress';
import { DEFAULT_SPECIALS, type InvalidUtf8Mode } from '../../tokenizer/index';
import { defaultDatasetDir, defaultDest, download, KNOWN_SOURCES, prepareDataset } from '../../dataset/index';
import { parseIntOption, parseInvalidUtf8, parseWorkers, peakRssMB } from './tokenizer';

const collect = (v: string, prev: string[] | undefined) => [...(prev ?? []), v];

export function registerDataset(program: Command): void {
  const cmd = program.command('dataset').description('prepare token datasets from raw text (download, tokenizer, token files)');

  cmd
    .command('prepare')
    .description('train a tokenizer on --train and encode --train/--valid into a dataset folder (re-running reuses what is up to date)')
    .requiredOption('--train <file>', 'training text')
    .option('--valid <file>', 'validation text')
    .requiredOption('--vocab-size <n>', 'vocabulary size (e.g. 10000 for TinyStories, 32000 for OWT)', parseIntOption('--vocab-size'))
    .option('--special <token>', 'special token (repeat for several; default <|endoftext|>)', collect)
    .option('--out <dir>', 'dataset folder (default: datasets/<train name>-bpe<vocab size>)')
    .option('--workers <n>', 'worker threads (default: number of cores; 0 = main thread only)', parseWorkers)
    .option('--invalid-utf8 <mode>', 'invalid UTF-8 in the input: error | replace', parseInvalidUtf8, 'error')
    .option('--copy-raw', 'copy the raw text into the folder instead of linking to it')
    .action(async (o: { train: string; valid?: string; vocabSize: number; special?: string[]; out?: string; workers?: number; invalidUtf8: InvalidUtf8Mode; copyRaw?: boolean }) => {
      const dir = o.out ?? defaultDatasetDir(o.train, o.vocabSize);
      const t0 = performance.now();
      let bar: Progress | undefined;
      let barStep = '';
      const { manifest, ran } = await prepareDataset({
        train: o.train,
        valid: o.valid,
        vocabSize: o.vocabSize,
        specials: o.special ?? DEFAULT_SPECIALS,
        dir,
        workers: o.workers,
        invalidUtf8: o.invalidUtf8,
        copyRaw: o.copyRaw,
        exitOnSignal: true,
        onEvent: (e) => {
          if (e.kind === 'progress') {
            if (barStep !== e.step) {
              bar?.stop();
              barStep = e.step;
              bar = createProgress({ label: e.step, unit: e.step.endsWith('merge') ? 'merges' : 'B', total: e.total });
            }
            bar?.update(e.done, e.extra ?? '');
            return;
          }
          if (e.status === 'start') {
            // Start the bar (and its clock) when the step starts, not at its first progress report.
            bar?.stop();
            barStep = e.step;
            bar = e.total !== undefined ? createProgress({ label: e.step === 'tokenizer' ? 'tokenizer: count' : e.step, unit: 'B', total: e.total }) : undefined;
            return;
          }
          bar?.stop();
          bar = undefined;
          barStep = '';
          process.stderr.write(`${e.step}: ${e.status === 'reused' ? 'up to date, reused' : 'done'}${e.detail ? ` (${e.detail})` : ''}\n`);
        },
      });
      bar?.stop();
      const splits = Object.entries(manifest.splits).map(([k, v]) => `${k} ${formatAmount(v.num_tokens, 'tokens')}`).join(', ');
      process.stderr.write(`dataset ${dir}: ${splits}; ${ran.length === 0 ? 'nothing to do' : `ran ${ran.join(', ')}`} in ${((performance.now() - t0) / 1000).toFixed(1)} s, peak RSS ${peakRssMB().toFixed(0)} MB\n`);
    });

  cmd
    .command('download')
    .description(`download raw data, resumable, with size/sha256 checks. SOURCE is a URL or one of: ${Object.keys(KNOWN_SOURCES).join(', ')}`)
    .argument('<source>', 'URL or known source name')
    .option('--out <dir>', 'folder to download into', 'data')
    .option('--sha256 <hex>', 'expected sha256 of the downloaded file (checked; the computed one is always recorded)')
    .option('--size <bytes>', 'expected size in bytes', parseIntOption('--size'))
    .option('--gunzip', 'decompress a .gz download next to it (default for the OWT sources)')
    .option('--no-gunzip', 'keep .gz downloads compressed')
    .option('--retries <n>', 'retries after a dropped connection', parseIntOption('--retries'), 8)
    .action(async (source: string, o: { out: string; sha256?: string; size?: number; gunzip?: boolean; retries: number }) => {
      const known = KNOWN_SOURCES[source];
      const url = known ? known.url : source;
      if (!known && !/^https?:\/\//.test(source)) throw new UserError(`unknown source ${JSON.stringify(source)}: give a http(s) URL or one of ${Object.keys(KNOWN_SOURCES).join(', ')}`);
      const dest = defaultDest(url, o.out);
      const gunzip = o.gunzip ?? dest.endsWith('.gz');
      let bar: Progress | undefined;
      let barTotal = -1;
      const rec = await download(url, dest, {
        sha256: o.sha256,
        size: o.size,
        gunzip,
        retries: o.retries,
        onProgress: (got, total) => {
          if (total !== undefined && total !== barTotal) { bar?.stop(); bar = createProgress({ label: 'download', unit: 'B', total }); barTotal = total; }
          bar?.update(got);
        },
        onNote: (m) => { process.stderr.write(`\n${m}\n`); },
      });
      bar?.stop();
      process.stderr.write(`${dest}: ${formatAmount(rec.size, 'B')}, sha256 ${rec.sha256}${rec.sha256_checked ? ' (matches --sha256)' : ' (recorded; pass --sha256 to check it next time)'}${rec.gunzipped_to ? `, decompressed to ${rec.gunzipped_to} (${formatAmount(rec.gunzipped_size ?? 0, 'B')})` : ''}\n`);
    });
}
