// `lmwb tokenize`: encode a text file into a uint16 token file (+ manifest), streaming and multi-threaded.
import type { Command } from 'commander';
import { createEventRenderer } from '../progress';
import { INVALID_UTF8_HINT, runOperation } from '../operation';
import { encodeFile, loadTokenizer, type InvalidUtf8Mode } from '../../tokenizer/index';
import { parseInvalidUtf8, parseWorkers, peakRssMB } from './tokenizer';

export function registerTokenize(program: Command): void {
  program
    .command('tokenize')
    .description('encode a text file into a uint16 token file (<out>) with a JSON manifest (<out>.json)')
    .requiredOption('--tokenizer <dir>', 'tokenizer folder (vocab.json + merges.txt) or tokenizer.json')
    .requiredOption('--input <file>', 'text file (UTF-8)')
    .requiredOption('--out <file>', 'token file to write, e.g. train.bin')
    .option('--workers <n>', 'worker threads (default: number of cores; 0 = main thread only)', parseWorkers)
    .option('--invalid-utf8 <mode>', 'what to do with invalid UTF-8 in the input: error | replace', parseInvalidUtf8, 'error')
    .action(async (o: { tokenizer: string; input: string; out: string; workers?: number; invalidUtf8: InvalidUtf8Mode }) => {
      const tok = loadTokenizer(o.tokenizer);
      const view = createEventRenderer();
      const r = await runOperation(
        (signal) => encodeFile(tok, o.input, o.out, { workers: o.workers, invalidUtf8: o.invalidUtf8, onEvent: (e) => view.onEvent(e), signal }),
        {
          INVALID_UTF8: INVALID_UTF8_HINT,
          DISK_FULL: '(--out)',
          FILE_NOT_WRITABLE: '(--out)',
          ABORTED: `; ${o.out} was not written (an earlier file there is unchanged)`,
        },
      ).finally(() => view.stop());
      const m = r.manifest;
      process.stderr.write(
        `${m.num_tokens.toLocaleString('en-US')} tokens (${(m.source.size / Math.max(1, m.num_tokens)).toFixed(2)} bytes/token) in ${r.seconds.toFixed(2)} s, ` +
          `${(m.source.size / 1e6 / r.seconds).toFixed(1)} MB/s with ${r.workers || 1} thread(s); peak RSS ${peakRssMB().toFixed(0)} MB -> ${o.out} (+ ${o.out}.json)\n`,
      );
    });
}
