// `lmwb report`: the experiment log (report.md with PNG/SVG/CSV charts, or one self-contained report.html) for
// chosen runs, one sweep, or every run in the workspace.
import type { Command } from 'commander';
import { UserError } from '../../util/errors';
import { resolveWorkspace } from '../../util/paths';
import { parseSmoothing } from '../../charts/smoothing';
import { writeReport, type ReportSelection } from '../../report/write';

function parsePositiveInt(flag: string) {
  return (v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n <= 0) throw new UserError(`${flag} must be a positive whole number, got "${v}"`, { code: 'INVALID_ARGUMENT', data: { flag, value: v } });
    return n;
  };
}

function parseTarget(v: string): number | null {
  if (v === 'none') return null;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new UserError(`--target must be a loss value or "none", got "${v}"`, { code: 'INVALID_ARGUMENT', data: { value: v } });
  return n;
}

export function registerReport(program: Command): void {
  program
    .command('report')
    .description('write the experiment log: configs that differ, val losses, wall time, learning curves (PNG, SVG, CSV), samples')
    .option('--runs <ids...>', 'these runs')
    .option('--sweep <name>', 'the runs of one sweep')
    .option('--all', 'every run in the workspace')
    .requiredOption('--out <dir>', 'report folder (re-running updates it in place)')
    .option('--format <md|html>', 'md: report.md with chart files; html: one self-contained report.html', 'md')
    .option('--workspace <dir>', 'workspace folder (default: LMWB_HOME, else the current folder)')
    .option('--target <loss>', 'target validation loss for the summary and the charts\' dashed line, or "none"', parseTarget, 1.45)
    .option('--smoothing <kind>', 'ema:W (TensorBoard, default ema:0.6), time-ema:W, ma:N, or none', parseSmoothing)
    .option('--width <px>', 'PNG width in pixels', parsePositiveInt('--width'), 1600)
    .option('--height <px>', 'PNG height in pixels', parsePositiveInt('--height'), 1000)
    .option('--dpi <n>', 'PNG resolution: text and lines scale with it', parsePositiveInt('--dpi'), 200)
    .action(async (o: { runs?: string[]; sweep?: string; all?: boolean; out: string; format: string; workspace?: string; target: number | null; smoothing?: ReturnType<typeof parseSmoothing>; width: number; height: number; dpi: number }) => {
      const chosen = [o.runs ? 1 : 0, o.sweep ? 1 : 0, o.all ? 1 : 0].reduce((a, b) => a + b, 0);
      if (chosen !== 1) throw new UserError('choose the runs with exactly one of --runs ID…, --sweep NAME or --all', { code: 'INVALID_ARGUMENT' });
      if (o.format !== 'md' && o.format !== 'html') throw new UserError(`--format must be md or html, got "${o.format}"`, { code: 'INVALID_ARGUMENT', data: { format: o.format } });
      const select: ReportSelection = o.runs ? { runs: o.runs } : o.sweep ? { sweep: o.sweep } : { all: true };
      const ac = new AbortController();
      const onSig = () => ac.abort();
      process.once('SIGINT', onSig);
      try {
        const r = await writeReport({
          workspace: resolveWorkspace(o.workspace, process.cwd()), select, out: o.out, format: o.format, target: o.target,
          smoothing: o.smoothing, widthPx: o.width, heightPx: o.height, dpi: o.dpi, signal: ac.signal,
          onProgress: (e) => process.stderr.write(`chart ${e.done}/${e.total}: ${e.name}\n`),
        });
        process.stdout.write(`${r.report} (${r.runs} run${r.runs === 1 ? '' : 's'} in ${r.groups} section${r.groups === 1 ? '' : 's'}, ${r.files.length} files)\n`);
      } finally {
        process.off('SIGINT', onSig);
      }
    });
}
