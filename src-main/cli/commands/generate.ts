// `lmwb generate`: text from a checkpoint (ours or a PyTorch CS336 state dict as safetensors) or a run folder,
// decoded on the GPU with a KV cache; streams a single sample to the terminal, prints several as blocks, or one
// JSON object per sample with --json. Samples from a run are appended to its samples.jsonl. The hidden
// `generate-worker` command is the app's generation child process (engine/generate/serve.ts): JSON lines on
// stdin and stdout, never used by hand.
import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { openGpu } from '../../engine/gpu/device';
import {
  Generator, loadGenerationModel, runTokenizer, byteTokenizer, sampleRecords, appendSamples, DEFAULT_GENERATE,
  type GenerateSettings, type SampleResult,
} from '../../engine/generate/index';
import { GenerationServer } from '../../engine/generate/serve';
import { loadTokenizer } from '../../tokenizer/files';
import { errorInfo } from '../../util/errors';
import type { Tokenizer } from '../../tokenizer/tokenizer';
import { UserError } from '../../util/errors';

interface GenerateFlags {
  checkpoint: string;
  prompt: string;
  tokenizer?: string;
  config?: string;
  best?: boolean;
  maxNewTokens: string;
  temperature: string;
  topP: string;
  topK: string;
  seed: string;
  numSamples: string;
  precision: string;
  sampleOn: string;
  json?: boolean;
  save: boolean;
}

function num(flag: string, v: string, integer = false): number {
  const x = Number(v);
  if (v.trim() === '' || !Number.isFinite(x) || (integer && !Number.isInteger(x))) {
    throw new UserError(`--${flag} must be ${integer ? 'an integer' : 'a number'}, got "${v}"`, { code: 'INVALID_ARGUMENT' });
  }
  return x;
}

function pickTokenizer(flag: string | undefined, runDir: string | undefined, file: string): { tokenizer: Tokenizer; from: string } {
  if (flag === 'bytes') return { tokenizer: byteTokenizer(), from: 'bytes (byte-level, vocab 256)' };
  if (flag) return { tokenizer: loadTokenizer(flag), from: flag };
  if (runDir) return runTokenizer(runDir);
  for (const dir of [join(dirname(file), 'tokenizer'), dirname(file)]) {
    if (existsSync(join(dir, 'vocab.json')) || existsSync(join(dir, 'tokenizer.json'))) return { tokenizer: loadTokenizer(dir), from: dir };
  }
  throw new UserError(`no tokenizer found for ${file} (it is not inside a run folder and has no tokenizer/ beside it); give --tokenizer DIR (or --tokenizer bytes for a byte-level model)`, { code: 'FILE_NOT_FOUND' });
}

export function registerGenerate(program: Command): void {
  registerGenerateWorker(program);
  program
    .command('generate')
    .description('generate text from a checkpoint or a run folder (KV-cache decoding on the GPU)')
    .requiredOption('-k, --checkpoint <file-or-run-dir>', 'a .safetensors checkpoint (ours, or a PyTorch CS336 state dict) or a run folder (its newest checkpoint)')
    .requiredOption('-p, --prompt <text>', 'the prompt ("" starts from <|endoftext|>)')
    .option('--tokenizer <dir>', 'tokenizer folder (default: the run\'s dataset tokenizer); "bytes" for a byte-level model')
    .option('--config <file>', 'model config JSON for a PyTorch state dict (default: config.json beside it)')
    .option('--best', 'from a run folder: the checkpoint with the best validation loss instead of the newest')
    .option('-n, --max-new-tokens <n>', 'stop after this many new tokens', String(DEFAULT_GENERATE.maxNewTokens))
    .option('-t, --temperature <t>', 'softmax temperature; 0 = greedy', String(DEFAULT_GENERATE.temperature))
    .option('--top-p <p>', 'nucleus sampling: keep the most likely tokens up to this probability, in (0, 1]', String(DEFAULT_GENERATE.topP))
    .option('--top-k <k>', 'keep the k most likely tokens (0 = all)', String(DEFAULT_GENERATE.topK))
    .option('--seed <n>', 'sampling seed (the same seed gives the same samples)', String(DEFAULT_GENERATE.seed))
    .option('--num-samples <n>', 'samples of the prompt, decoded together as one batch', '1')
    .option('--precision <p>', 'auto, f32 or mixed (f16 matmuls on tensor cores)', 'auto')
    .option('--sample-on <where>', 'gpu (draws chained on the GPU) or cpu (logits read back every step)', 'gpu')
    .option('--json', 'print one JSON object per sample (prompt_ids, ids, text, stop_reason, tokens_per_s)')
    .option('--no-save', 'do not append the samples to the run\'s samples.jsonl')
    .action(async (o: GenerateFlags) => {
      const settings: GenerateSettings = {
        maxNewTokens: num('max-new-tokens', o.maxNewTokens, true),
        temperature: num('temperature', o.temperature),
        topP: num('top-p', o.topP),
        topK: num('top-k', o.topK, true),
        seed: num('seed', o.seed, true),
      };
      const numSamples = num('num-samples', o.numSamples, true);
      if (!['auto', 'f32', 'mixed'].includes(o.precision)) throw new UserError(`--precision must be auto, f32 or mixed, got "${o.precision}"`, { code: 'INVALID_ARGUMENT' });
      if (o.sampleOn !== 'gpu' && o.sampleOn !== 'cpu') throw new UserError(`--sample-on must be gpu or cpu, got "${o.sampleOn}"`, { code: 'INVALID_ARGUMENT' });
      const say = (line: string) => process.stderr.write(`${line}\n`);
      const model = loadGenerationModel(o.checkpoint, { config: o.config, choice: o.best ? 'best' : 'latest' });
      const tok = pickTokenizer(o.tokenizer, model.runDir, model.file);
      say(`checkpoint ${model.file}${model.format === 'pytorch' ? ' (PyTorch state dict)' : ` (step ${model.step})`}${model.note ? `: ${model.note}` : ''}; tokenizer ${tok.from}`);

      const gpu = await openGpu();
      const abort = new AbortController();
      const onSigint = () => {
        if (abort.signal.aborted) process.exit(130);
        process.stderr.write('\ninterrupt: stopping generation (Ctrl-C again to quit at once)\n');
        abort.abort();
      };
      process.on('SIGINT', onSigint);
      let results: SampleResult[];
      try {
        const g = new Generator(gpu, model.cfg, model.weights, tok.tokenizer, { numSamples, precision: o.precision as 'auto' | 'f32' | 'mixed', sampleOn: o.sampleOn as 'gpu' | 'cpu' });
        say(`device ${gpu.info.description}; precision ${g.precision}; ${numSamples} sample${numSamples > 1 ? 's' : ''}, up to ${settings.maxNewTokens} new tokens`);
        const stream = !o.json && numSamples === 1;
        if (stream) process.stdout.write(o.prompt);
        results = await g.generate(o.prompt, settings, {
          signal: abort.signal,
          onEvent(e) {
            if (e.type === 'warning') say(`warning: ${e.message}`);
            else if (e.type === 'token' && stream) process.stdout.write(e.text);
          },
        });
        g.destroy();
      } finally {
        process.off('SIGINT', onSigint);
        gpu.destroy();
      }
      const summary = (r: SampleResult) => `${r.ids.length} tokens, stop: ${r.stop_reason}, ${r.tokens_per_s.toFixed(0)} tokens/s`;
      if (o.json) {
        for (const r of results) process.stdout.write(`${JSON.stringify({ sample: r.sample, prompt_ids: r.prompt_ids, ids: r.ids, text: r.text, stop_reason: r.stop_reason, tokens_per_s: r.tokens_per_s })}\n`);
      } else if (numSamples === 1) {
        process.stdout.write('\n');
        say(`(${summary(results[0])})`);
      } else {
        for (const r of results) process.stdout.write(`── sample ${r.sample} (${summary(r)})\n${o.prompt}${r.text}\n`);
      }
      if (model.runDir && o.save) {
        const path = appendSamples(model.runDir, sampleRecords(model.file, model.step, o.prompt, settings, results));
        say(`appended ${results.length} sample${results.length > 1 ? 's' : ''} to ${path}`);
      }
    });
}

/** `lmwb generate-worker`: serves generation requests on stdin/stdout until `shutdown` or the end of stdin. */
function registerGenerateWorker(program: Command): void {
  program
    .command('generate-worker', { hidden: true })
    .description('the app\'s generation child process: JSON-line requests on stdin, streamed JSON-line events on stdout')
    .option('--cache <n>', 'checkpoints kept loaded', '2')
    .action(async (o: { cache: string }) => {
      const write = (e: unknown) => process.stdout.write(`${JSON.stringify(e)}\n`);
      let gpu;
      try {
        gpu = await openGpu();
      } catch (e) {
        const info = errorInfo(e);
        write({ type: 'error', id: null, error: { code: info.code, message: info.message } });
        throw e;
      }
      const g = gpu;
      let exiting = false;
      const exit = () => {
        if (exiting) return;
        exiting = true;
        g.destroy();
        // Exit once stdout has drained (the last events must reach the supervisor).
        process.stdout.write('', () => process.exit(0));
      };
      const server = new GenerationServer(g, { capacity: num('cache', o.cache, true), emit: write, onShutdown: exit });
      write({ type: 'ready', pid: process.pid, device: g.info.description });
      let buf = '';
      process.stdin.setEncoding('utf8');
      process.stdin.on('data', (chunk: string) => {
        buf += chunk;
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          server.handleLine(line);
        }
      });
      // The supervisor went away (its end of the pipe closed): stop everything and exit.
      process.stdin.on('end', () => void server.close().then(exit));
      process.on('SIGTERM', () => void server.close().then(exit));
      await new Promise<never>(() => {});
    });
}
