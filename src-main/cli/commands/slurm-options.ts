// The command-line options of the Slurm backend, shared by `lmwb queue add` and `lmwb sweep`: parsed into the
// library's SlurmSubmitOptions (runs/slurm/jobs.ts). Also the printed form of a submission.
import type { Command } from 'commander';
import { UserError } from '../../util/errors';
import type { SlurmSubmitOptions, Submitted } from '../../runs/slurm/jobs';
import { collect } from './runs';

export interface SlurmCliOpts {
  backend?: string;
  time?: string;
  partition?: string;
  gres?: string;
  slurmArg: string[];
  lmwb?: string;
  remoteWorkspace?: string;
  ssh?: string;
  rsync: boolean;
  retries?: string;
}

export function addSlurmOptions(cmd: Command): Command {
  return cmd
    .option('--backend <name>', 'where the run(s) train: "local" (the queue\'s workers, default) or "slurm" (sbatch; a sweep is one job array)', 'local')
    .option('--time <limit>', 'Slurm: wall-clock limit, HH:MM:SS or D-HH:MM:SS (default: training.time_budget_s + 10%, at least 10 min; else the partition\'s)')
    .option('--partition <name>', 'Slurm: partition')
    .option('--gres <spec>', 'Slurm: generic resources (default gpu:1; "" for none)')
    .option('--slurm-arg <option>', 'Slurm: an extra sbatch option, e.g. --slurm-arg=--account=cs336 (repeatable)', collect, [])
    .option('--lmwb <command>', 'Slurm: how the job starts lmwb on the nodes, e.g. "node /shared/lmwb/dist/lmwb.mjs" (default: this lmwb; "lmwb" with --ssh)')
    .option('--remote-workspace <dir>', 'Slurm: the workspace path on the cluster (default: the same path: a shared file system)')
    .option('--ssh <dest>', 'Slurm: run every Slurm command on this login node through ssh (user@login), and rsync the new runs there')
    .option('--no-rsync', 'Slurm with --ssh: do not copy the new run folders to the cluster (the workspace is shared)')
    .option('--slurm-retries <n>', 'Slurm: restarts of a crashed trainer inside the job', '3');
}

/** "01:30:00", "90:00", "2-00:00:00", or minutes → seconds. */
export function parseSlurmTime(t: string): number {
  const m = /^(?:(\d+)-)?(\d+)(?::(\d+))?(?::(\d+))?$/.exec(t.trim());
  if (!m) throw new UserError(`--time must look like 01:30:00, 90:00 or 2-00:00:00, got "${t}"`, { code: 'INVALID_ARGUMENT' });
  const [d, a, b, c] = [m[1], m[2], m[3], m[4]].map((x) => (x === undefined ? undefined : Number(x)));
  // Slurm: "M", "M:S", "H:M:S", "D-H", "D-H:M", "D-H:M:S".
  if (d !== undefined) return d * 86400 + (a ?? 0) * 3600 + (b ?? 0) * 60 + (c ?? 0);
  if (c !== undefined) return (a ?? 0) * 3600 + (b ?? 0) * 60 + c;
  if (b !== undefined) return (a ?? 0) * 60 + b;
  return (a ?? 0) * 60;
}

/** The submit options, or undefined for the local backend. */
export function slurmSubmitOptions(o: SlurmCliOpts & { slurmRetries?: string }): SlurmSubmitOptions | undefined {
  if (!o.backend || o.backend === 'local') return undefined;
  if (o.backend !== 'slurm') throw new UserError(`--backend must be "local" or "slurm", got "${o.backend}"`, { code: 'INVALID_ARGUMENT' });
  const retries = Number(o.slurmRetries ?? '3');
  if (!Number.isInteger(retries) || retries < 0) throw new UserError(`--slurm-retries must be a whole number ≥ 0, got "${o.slurmRetries}"`, { code: 'INVALID_ARGUMENT' });
  return {
    timeLimitS: o.time ? parseSlurmTime(o.time) : undefined,
    partition: o.partition,
    gres: o.gres,
    extra: o.slurmArg.map((a) => a.replace(/^#SBATCH\s+/, '')),
    lmwb: o.lmwb ? o.lmwb.split(/\s+/).filter(Boolean) : undefined,
    remoteWorkspace: o.remoteWorkspace,
    ssh: o.ssh,
    rsync: o.rsync,
    retries,
  };
}

export function describeSubmitted(s: Submitted): string {
  return s.runs.length === 1 ? `submitted as Slurm job ${s.job}` : `submitted as Slurm job array ${s.job} (tasks 0-${s.runs.length - 1})`;
}
