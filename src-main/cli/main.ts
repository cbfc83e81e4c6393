// The `lmwb` command line: one module per command under commands/, registered here (only the one that runs).
import { Command } from 'commander';
import { UserError } from '../util/errors';
import { exitCodeFor } from './exit-codes';
type Register = (program: Command) => void;

/**
 * Each command's module, loaded only when that command runs: the modules pull in the engine, the charts or the
 * server, and loading all of them made every CLI call start seconds slower (help without a command loads all).
 */
const COMMANDS: Record<string, () => Promise<Register>> = {
  train: async () => (await import('./commands/train')).registerTrain,
  tokenizer: async () => (await import('./commands/tokenizer')).registerTokenizer,
  tokenize: async () => (await import('./commands/tokenize')).registerTokenize,
  dataset: async () => (await import('./commands/dataset')).registerDataset,
  generate: async () => (await import('./commands/generate')).registerGenerate,
  report: async () => (await import('./commands/report')).registerReport,
  serve: async () => (await import('./commands/serve')).registerServe,
  runs: async () => (await import('./commands/runs')).registerRuns,
  queue: async () => (await import('./commands/queue')).registerQueue,
  sweep: async () => (await import('./commands/sweep')).registerSweep,
  device: async () => (await import('./commands/device')).registerDevice,
};

const program = new Command();
program
  .name('lmwb')
  .description('LM Workbench: train small language models on WebGPU (the CS336 assignment 1 experiments)')
  .showHelpAfterError();

// The command is the first argument that is not an option (the top level has no options that take a value).
const named = process.argv.slice(2).find((a) => !a.startsWith('-'));
const wanted = named !== undefined && named in COMMANDS ? [named] : Object.keys(COMMANDS);
for (const name of wanted) (await COMMANDS[name]())(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof UserError) {
    process.stderr.write(`lmwb: ${err.message}\n`);
    process.exit(exitCodeFor(err.code));
  }
  throw err;
}
