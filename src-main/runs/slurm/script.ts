/**
 * The sbatch script for queued runs: one job per run, or a job array for a sweep (task i trains the i-th run).
 * The job runs a queue worker for exactly its run(s) in the shared workspace (`lmwb queue work --only ID
 * --until-empty`), so the crash-proof path is the local one: a trainer that dies is restarted from its newest
 * valid checkpoint inside the job. Before the time limit (and on pre-emption) Slurm signals the batch shell
 * (`--signal=B:USR1@LEAD`); the script forwards SIGTERM to the worker, whose trainer checkpoints and stops, then
 * asks Slurm to requeue the job (`scontrol requeue`); the requeued job resumes bit for bit.
 */

export interface SbatchOptions {
  /** Run ids; more than one makes a job array (`--array=0-(n-1)`). */
  runIds: string[];
  /** The workspace as seen from the compute nodes (shared file system). */
  workspace: string;
  /** How to start lmwb on the nodes, e.g. ["node", "/shared/lmwb/dist/lmwb.mjs"]. */
  lmwb: string[];
  jobName: string;
  /** Wall-clock limit in seconds (Slurm --time). */
  timeLimitS?: number;
  /** Generic resources, default "gpu:1"; "" for none (CPU-only test clusters). */
  gres?: string;
  partition?: string;
  cpusPerTask?: number;
  /** Memory per node, Slurm syntax ("16G"). */
  mem?: string;
  /** Seconds before the limit at which the batch shell gets USR1 (default 120). */
  signalLeadS?: number;
  /** Where Slurm writes the job's own output (default <workspace>/runs/<id>/slurm-%j.out via %x). */
  output?: string;
  /** Restarts of a crashed trainer inside the job. */
  retries?: number;
  /** Extra `#SBATCH` lines (without the prefix). */
  extra?: string[];
  /** Environment exported in the job (XDG_RUNTIME_DIR, LMWB_* …). */
  env?: Record<string, string>;
}

/** Slurm's --time: D-HH:MM:SS (minutes rounded up). */
export function slurmTime(seconds: number): string {
  const total = Math.max(60, Math.ceil(seconds / 60) * 60);
  const d = Math.floor(total / 86400);
  const h = Math.floor((total % 86400) / 3600);
  const m = Math.floor((total % 3600) / 60);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d > 0 ? `${d}-` : ''}${pad(h)}:${pad(m)}:00`;
}

/** Quotes a word for bash (single quotes). */
export function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

export function renderSbatchScript(o: SbatchOptions): string {
  if (!o.runIds.length) throw new Error('renderSbatchScript: no runs');
  const lines = ['#!/bin/bash', `#SBATCH --job-name=${o.jobName}`];
  if (o.runIds.length > 1) lines.push(`#SBATCH --array=0-${o.runIds.length - 1}`);
  if (o.timeLimitS) lines.push(`#SBATCH --time=${slurmTime(o.timeLimitS)}`);
  const gres = o.gres ?? 'gpu:1';
  if (gres) lines.push(`#SBATCH --gres=${gres}`);
  if (o.partition) lines.push(`#SBATCH --partition=${o.partition}`);
  lines.push(`#SBATCH --cpus-per-task=${o.cpusPerTask ?? 4}`);
  if (o.mem) lines.push(`#SBATCH --mem=${o.mem}`);
  lines.push('#SBATCH --requeue', `#SBATCH --signal=B:USR1@${o.signalLeadS ?? 120}`, '#SBATCH --open-mode=append');
  lines.push(`#SBATCH --output=${o.output ?? `${o.workspace}/runs/slurm-%x-%A_%a.out`}`);
  // sbatch splits #SBATCH lines at blanks: a value with blanks goes in double quotes.
  for (const x of o.extra ?? []) lines.push(`#SBATCH ${x.replace(/^(--?[\w-]+[= ])(.*\s.*)$/, (_m, k: string, v: string) => `${k}"${v.replace(/"/g, '\\"')}"`)}`);
  lines.push('', 'set -u');
  for (const [k, v] of Object.entries(o.env ?? {})) lines.push(`export ${k}=${shellQuote(v)}`);
  lines.push(`RUNS=(${o.runIds.map(shellQuote).join(' ')})`, 'RUN=${RUNS[${SLURM_ARRAY_TASK_ID:-0}]}');
  lines.push(`cd ${shellQuote(o.workspace)}`);
  // The run's Slurm reference as the workspace records it: the array task "A_i" (SLURM_JOB_ID is the task's own id).
  lines.push('if [ -n "${SLURM_ARRAY_JOB_ID:-}" ]; then REF="slurm:${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID}"; else REF="slurm:${SLURM_JOB_ID}"; fi');
  lines.push(
    '# Before the time limit or on pre-emption: the worker checkpoints its trainer and puts the run back in the queue,',
    '# then the job is requeued and resumes from that checkpoint.',
    'requeue=0',
    'on_usr1() { requeue=1; [ -n "${WORKER:-}" ] && kill -TERM "$WORKER" 2>/dev/null; }',
    'trap on_usr1 USR1',
    'trap \'[ -n "${WORKER:-}" ] && kill -TERM "$WORKER" 2>/dev/null\' TERM',
    `${o.lmwb.map(shellQuote).join(' ')} queue work --workspace ${shellQuote(o.workspace)} --only "$RUN" --until-empty --retries ${o.retries ?? 3} --backend-ref "$REF" &`,
    'WORKER=$!',
    '# wait returns early when a trapped signal arrives: wait again until the worker has really exited',
    'while kill -0 "$WORKER" 2>/dev/null; do wait "$WORKER"; rc=$?; done',
    'wait "$WORKER" 2>/dev/null; rc=${rc:-$?}',
    'if [ "$requeue" = 1 ]; then scontrol requeue "${SLURM_JOB_ID}"; exit 0; fi',
    'exit $rc',
    '',
  );
  return lines.join('\n');
}
