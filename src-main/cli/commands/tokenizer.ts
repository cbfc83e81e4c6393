// `lmwb tokenizer train|export-hf|import-hf|encode|decode`: byte-level BPE tokenizers (and the option parsers the
// other text commands share).
import type { Command } from 'commander';
import { resolve } from 'node:path';
import { readFileSync } from 'node:fs';
import { UserError } from '../../util/errors';
import { writeFileAtomic } from '../../util/atomic-write';
import { createEventRenderer, formatAmount } from '../progress';
import { INVALID_UTF8_HINT, runOperation } from '../operation';
import { DEFAULT_SPECIALS, fromHuggingFace, loadTokenizer, saveTokenizer, toHuggingFace, trainFromFile, type InvalidUtf8Mode } from '../../tokenizer/index';

export function parseIntOption(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n <= 0) throw new UserError(`${name} must be a positive integer, got ${JSON.stringify(v)}`, { code: 'INVALID_ARGUMENT', data: { option: name, value: v } });
    return n;
  };
}

/** --workers N: 0 means all work in the main thread. */
export function parseWorkers(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new UserError(`--workers must be 0 (main thread only) or a positive integer, got ${JSON.stringify(v)}`, { code: 'INVALID_ARGUMENT', data: { option: '--workers', value: v } });
  return n;
}

export function parseInvalidUtf8(v: string): InvalidUtf8Mode {
  if (v !== 'error' && v !== 'replace') throw new UserError(`--invalid-utf8 must be "error" or "replace", got ${JSON.stringify(v)}`, { code: 'INVALID_ARGUMENT', data: { option: '--invalid-utf8', value: v } });
  return v;
}

const collect = (v: string, prev: string[] | undefined) => [...(prev ?? []), v];

export function peakRssMB(): number {
  return process.resourceUsage().maxRSS / 1024;
}

/** `tokenizer train`: trains with progress on stderr, Ctrl-C cancels, and saves the folder. */
export async function runTrain(o: { input: string; vocabSize: number; specials: string[]; out: string; workers?: number; invalidUtf8: InvalidUtf8Mode; hashInput?: boolean; quiet?: boolean }) {
  const view = createEventRenderer({ quiet: o.quiet });
  const { tokenizer, stats } = await runOperation(
    (signal) => trainFromFile(o.input, {
      vocabSize: o.vocabSize,
      specials: o.specials,
      workers: o.workers,
      invalidUtf8: o.invalidUtf8,
      hashInput: o.hashInput,
      onEvent: (e) => view.onEvent(e),
      signal,
    }),
    { INVALID_UTF8: INVALID_UTF8_HINT, ABORTED: `; nothing was written to ${o.out}` },
  ).finally(() => view.stop());
  const meta = saveTokenizer(tokenizer, o.out, {
    trainedOn: { path: resolve(o.input), size: stats.inputBytes, ...(stats.inputSha256 ? { sha256: stats.inputSha256 } : {}) },
    training: { vocab_size_requested: o.vocabSize, unique_pretokens: stats.uniquePretokens, seconds: Math.round(stats.totalSeconds * 1000) / 1000 },
  });
  return { tokenizer, stats, meta };
}

export function registerTokenizer(program: Command): void {
  const cmd = program.command('tokenizer').description('train, convert and try byte-level BPE tokenizers');

  cmd
    .command('train')
    .description('train a byte-level BPE tokenizer (CS336 semantics) and write vocab.json, merges.txt, tokenizer.json')
    .requiredOption('--input <file>', 'training text (UTF-8)')
    .requiredOption('--vocab-size <n>', 'vocabulary size including the 256 bytes and the special tokens', parseIntOption('--vocab-size'))
    .option('--special <token>', 'special token (repeat for several; default <|endoftext|>)', collect)
    .option('--no-special-tokens', 'train without any special token')
    .requiredOption('--out <dir>', 'output folder')
    .option('--workers <n>', 'worker threads for counting (default: number of cores; 0 = main thread only)', parseWorkers)
    .option('--invalid-utf8 <mode>', 'what to do with invalid UTF-8 in the input: error | replace', parseInvalidUtf8, 'error')
    .action(async (o: { input: string; vocabSize: number; special?: string[]; specialTokens: boolean; out: string; workers?: number; invalidUtf8: InvalidUtf8Mode }) => {
      const specials = o.specialTokens === false ? [] : (o.special ?? DEFAULT_SPECIALS);
      const { tokenizer, stats } = await runTrain({ input: o.input, vocabSize: o.vocabSize, specials, out: o.out, workers: o.workers, invalidUtf8: o.invalidUtf8 });
      process.stderr.write(
        `trained ${tokenizer.vocabSize} tokens on ${formatAmount(stats.inputBytes, 'B')} in ${stats.totalSeconds.toFixed(2)} s ` +
          `(count ${stats.countSeconds.toFixed(2)} s with ${stats.workers || 1} thread(s), merges ${stats.mergeSeconds.toFixed(2)} s; ` +
          `${stats.uniquePretokens.toLocaleString('en-US')} distinct pre-tokens; peak RSS ${peakRssMB().toFixed(0)} MB) -> ${o.out}\n`,
      );
    });

  cmd
    .command('export-hf')
    .description('write a Hugging Face tokenizer.json (ByteLevel BPE) for a tokenizer folder')
    .requiredOption('--tokenizer <dir>', 'tokenizer folder (vocab.json + merges.txt)')
    .requiredOption('--out <file>', 'tokenizer.json to write')
    .action((o: { tokenizer: string; out: string }) => {
      const tok = loadTokenizer(o.tokenizer);
      writeFileAtomic(o.out, JSON.stringify(toHuggingFace(tok), null, 2));
      process.stderr.write(`wrote ${o.out} (${tok.vocabSize} tokens, ${tok.merges.length} merges)\n`);
    });

  cmd
    .command('import-hf')
    .description('convert a Hugging Face byte-level BPE tokenizer.json into a tokenizer folder')
    .requiredOption('--input <file>', 'tokenizer.json')
    .requiredOption('--out <dir>', 'tokenizer folder to write')
    .option('--special <token>', 'special tokens (default: the added tokens marked special)', collect)
    .action((o: { input: string; out: string; special?: string[] }) => {
      let text: string;
      try { text = readFileSync(o.input, 'utf8'); } catch { throw new UserError(`cannot read ${o.input}`, { code: 'FILE_NOT_FOUND', data: { path: o.input } }); }
      const tok = fromHuggingFace(text, o.special);
      saveTokenizer(tok, o.out);
      process.stderr.write(`wrote ${o.out} (${tok.vocabSize} tokens, ${tok.merges.length} merges, specials ${JSON.stringify(tok.specials)})\n`);
    });

  cmd
    .command('encode')
    .description('print the token ids of a text (try a tokenizer)')
    .requiredOption('--tokenizer <dir>', 'tokenizer folder or tokenizer.json')
    .argument('<text>', 'text to encode')
    .option('--pieces', 'also print each token as text')
    .action((text: string, o: { tokenizer: string; pieces?: boolean }) => {
      const tok = loadTokenizer(o.tokenizer);
      const ids = Array.from(tok.encode(text));
      process.stdout.write(`${JSON.stringify(ids)}\n`);
      if (o.pieces) process.stdout.write(`${JSON.stringify(ids.map((id) => tok.decode([id])))}\n`);
    });

  cmd
    .command('decode')
    .description('print the text of token ids')
    .requiredOption('--tokenizer <dir>', 'tokenizer folder or tokenizer.json')
    .argument('<ids...>', 'token ids (space or comma separated)')
    .action((ids: string[], o: { tokenizer: string }) => {
      const tok = loadTokenizer(o.tokenizer);
      const nums = ids.join(' ').split(/[\s,[\]]+/).filter(Boolean).map(Number);
      if (nums.some((n) => !Number.isInteger(n) || n < 0)) throw new UserError('ids must be non-negative integers', { code: 'INVALID_ARGUMENT', data: { ids } });
      try {
        process.stdout.write(`${tok.decode(nums)}\n`);
      } catch (err) {
        throw new UserError((err as Error).message, { code: 'TOKEN_OUT_OF_RANGE', data: { vocabSize: tok.vocabSize } });
      }
    });
}
