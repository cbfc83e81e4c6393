import type { Command } from 'commander';

export function registerTrain(program: Command): void {
  program.command('train').description('train a transformer LM (engine work in progress)');
}
