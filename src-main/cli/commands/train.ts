// `lmwb train`: trains a transformer LM from a JSON run config or a preset, with --set overrides.
import type { Command } from 'commander';
import { applyOverrides, loadRunConfigFile, parseRunConfig } from '../../engine/train/run-config';
import { preset, PRESET_NAMES } from '../../engine/train/presets';
import { train } from '../../engine/train/trainer';
import { createProgress, formatDuration, type Progress } from '../progress';
import { UserError } from '../../util/errors';

const collect = (v: string, prev: string[]) => [...prev, v];

function fmtTps(x: number): string {
  return x >= 1e6 ? `${(x / 1e6).toFixed(2)}M` : x >= 1e3 ? `${(x / 1e3).toFixed(1)}k` : x.toFixed(0);
}

export function registerTrain(program: Command): void {
  program
    .command('train')
    .description('train a transformer LM on uint16 token files')
    .option('-c, --config <file>', 'run config (JSON)')
    .option('-p, --preset <name>', `start from a preset (${PRESET_NAMES.join(', ')})`)
    .option('-s, --set <key=value>', 'override a config value, e.g. training.batch_size=32 (repeatable)', collect, [])
    .option('-r, --resume <checkpoint-or-run-dir>', 'continue from a checkpoint (or the newest one in a run folder)')
    .option('-o, --out <dir>', 'run folder (default runs/<name>)')
    .action(async (o: { config?: string; preset?: string; set: string[]; resume?: string; out?: string }) => {
      if (!o.config && !o.preset) throw new UserError('give --config FILE or --preset NAME (try `lmwb train --preset smoke`)');
      if (o.config && o.preset) throw new UserError('give either --config or --preset, not both');
      const base = o.config ? loadRunConfigFile(o.config) : (preset(o.preset!) as Record<string, unknown>);
      const sets = [...o.set, ...(o.out ? [`out_dir=${o.out}`] : [])];
      const cfg = parseRunConfig(applyOverrides(base, sets));

      const abort = new AbortController();
      let interrupts = 0;
      const onSigint = () => {
        interrupts++;
        if (interrupts === 1) {
          process.stderr.write('\ninterrupt: finishing this step and saving a checkpoint (Ctrl-C again to quit at once)\n');
          abort.abort();
        } else process.exit(130);
      };
      process.on('SIGINT', onSigint);
      process.on('SIGTERM', onSigint);

      let bar: Progress | undefined;
      let total = 0;
      const say = (line: string) => {
        if (bar && process.stderr.isTTY) process.stderr.write(`\r\x1b[K${line}\n`);
        else process.stderr.write(`${line}\n`);
      };
      const result = await train(cfg, {
        resume: o.resume,
        signal: abort.signal,
        events: {
          onStart(i) {
            say(`run ${cfg.name} → ${i.runDir}`);
            say(`device: ${i.device}; precision ${i.precision}; ${i.kernels}`);
            say(`model: ${(i.parameters / 1e6).toFixed(2)}M parameters (${(i.nonEmbeddingParameters / 1e6).toFixed(2)}M non-embedding); ` +
              `${i.steps} steps × ${i.tokensPerStep} tokens = ${((i.steps * i.tokensPerStep) / 1e6).toFixed(2)}M tokens; train file ${(i.trainTokens / 1e6).toFixed(2)}M tokens` +
              (i.startStep ? `; resuming at step ${i.startStep}` : ''));
            if (process.stderr.isTTY) {
              bar = createProgress({ unit: 'steps', label: 'train', total: i.steps });
              bar.update(i.startStep);
            }
            total = i.steps;
          },
          onLog(r, eta) {
            const stats = `loss ${r.loss.toFixed(4)} | lr ${r.lr.toExponential(2)} | ${fmtTps(r.tokens_per_s)} tok/s`;
            if (bar) bar.update(r.step, `| ${stats}`);
            else say(`step ${r.step}/${total} | ${stats} | grad norm ${r.grad_norm.toFixed(3)}${r.loss_scale !== undefined ? ` | loss scale ${r.loss_scale}${r.skipped ? ' (overflow: step skipped)' : ''}` : ''} | ETA ${formatDuration(eta)}`);
          },
          onEval(r) {
            say(`eval  step ${r.step}: val loss ${r.val_loss.toFixed(4)} (${r.val_tokens} tokens)`);
          },
          onCheckpoint(path) {
            say(`saved ${path}`);
          },
        },
      });
      bar?.stop();
      process.off('SIGINT', onSigint);
      process.off('SIGTERM', onSigint);
      process.stdout.write(
        `${result.interrupted ? 'interrupted' : 'done'}: step ${result.finalStep}, train loss ${result.finalLoss.toFixed(4)}` +
          (result.finalValLoss !== undefined ? `, val loss ${result.finalValLoss.toFixed(4)}` : '') +
          (result.lastCheckpoint ? `, checkpoint ${result.lastCheckpoint}` : '') + '\n',
      );
    });
}
