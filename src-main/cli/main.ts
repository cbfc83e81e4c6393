// The `lmwb` command line: one module per command under commands/, registered here.
import { Command } from 'commander';
import { UserError } from '../util/errors';
import { exitCodeFor } from './exit-codes';
import { registerTrain } from './commands/train';
import { registerTokenizer } from './commands/tokenizer';
import { registerTokenize } from './commands/tokenize';
import { registerDataset } from './commands/dataset';
import { registerGenerate } from './commands/generate';
import { registerReport } from './commands/report';
import { registerServe } from './commands/serve';
import { registerRuns } from './commands/runs';
import { registerQueue } from './commands/queue';
import { registerSweep } from './commands/sweep';
import { registerDevice } from './commands/device';

const program = new Command();
program
  .name('lmwb')
  .description('LM Workbench: train small language models on WebGPU (the CS336 assignment 1 experiments)')
  .showHelpAfterError();

registerTrain(program);
registerTokenizer(program);
registerTokenize(program);
registerDataset(program);
registerGenerate(program);
registerReport(program);
registerServe(program);
registerRuns(program);
registerQueue(program);
registerSweep(program);
registerDevice(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof UserError) {
    process.stderr.write(`lmwb: ${err.message}\n`);
    process.exit(exitCodeFor(err.code));
  }
  throw err;
}
