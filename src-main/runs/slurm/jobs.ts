/**
 * Runs that train on a Slurm cluster: submitting queued runs as one sbatch job each (or a sweep as one job
 * array), Slurm's view of them, and cancelling them. A submitted run stays an ordinary queued run of the workspace
 * whose status.json `backend` is "slurm:<jobid>" (or "slurm:<arrayid>_<i>"), so local workers leave it alone; the
 * job's own worker (`queue work --only ID`) trains it in the shared workspace. `slurm.json` in the run folder
 * records the job and how to reach it (SSH prefix, the workspace path on the cluster); `slurm.sbatch` is the
 * script that was submitted.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { writeFileAtomic } from '../../util/atomic-write';
import { UserError } from '../../util/errors';
import { FINISHED_STATES, type RunState, type RunStatus } from '../format';
import { releaseClaim, requestStop, withQueueLock } from '../queue';
import { readStatus, runDir } from '../read';
import { updateStatus } from '../status';
import { renderSbatchScript, type SbatchOptions } from './script';
import { jobStates, sbatch, scancel, type SlurmCliOptions, type SlurmJob } from './slurm-cli';

export const SLURM_FILES = { record: 'slurm.json', script: 'slurm.sbatch' } as const;

/** What slurm.json holds. */
export interface SlurmRecord {
  /** The Slurm job id of this run: "123" or "123_4" (array task). */
  job: string;
  /** The array's (or the single job's) id, as sbatch printed it. */
  submitted_job: string;
  /** SSH destination of the login node ("user@login"), when submitted from another machine. */
  ssh?: string;
  /** The workspace path on the cluster. */
  remote_workspace: string;
  time: string;
}

export interface SlurmSubmitOptions {
  /** The workspace as the compute nodes see it (default: the local path: a shared file system). */
  remoteWorkspace?: string;
  /** SSH destination of the login node; every Slurm command (and rsync) goes through `ssh DEST`. */
  ssh?: string;
  /** Extra ssh options (e.g. ["-p", "2222"]). */
  sshArgs?: string[];
  /** Copy the new run folders to the cluster with rsync before submitting (with `ssh`; default true). */
  rsync?: boolean;
  /** How to start lmwb on the nodes (default: this lmwb locally, "lmwb" over SSH). */
  lmwb?: string[];
  timeLimitS?: number;
  partition?: string;
  gres?: string;
  cpusPerTask?: number;
  mem?: string;
  /** Extra sbatch options, e.g. ["--account=cs336", "--qos=normal"]. */
  extra?: string[];
  retries?: number;
  signalLeadS?: number;
  jobName?: string;
  env?: Record<string, string>;
  /** Environment of the Slurm client tools (SLURM_CONF in tests). */
  clientEnv?: NodeJS.ProcessEnv;
}

/** Seconds of wall clock beyond a run's training budget: start-up, evals, checkpoints (10%, at least 10 minutes). */
export function timeLimitFor(configs: Array<Record<string, unknown>>): number | undefined {
  const budgets = configs.map((c) => (c.training as { time_budget_s?: unknown } | undefined)?.time_budget_s).filter((b): b is number => typeof b === 'number' && b > 0);
  if (budgets.length !== configs.length || !budgets.length) return undefined;
  const b = Math.max(...budgets);
  return b + Math.max(600, Math.ceil(b * 0.1));
}

export function cliOptions(o: { ssh?: string; sshArgs?: string[]; clientEnv?: NodeJS.ProcessEnv }): SlurmCliOptions {
  return { prefix: o.ssh ? ['ssh', ...(o.sshArgs ?? []), o.ssh] : undefined, env: o.clientEnv };
}

/** The default lmwb command in a job: this lmwb (same node binary, loader and entry) on a shared file system, `lmwb` over SSH. */
export function defaultLmwb(ssh?: string): string[] {
  return ssh ? ['lmwb'] : [process.execPath, ...process.execArgv, process.argv[1]];
}

/** The sbatch script for these runs (also what a dry run prints). */
export function slurmScript(workspace: string, runIds: string[], o: SlurmSubmitOptions): string {
  const remote = o.remoteWorkspace ?? workspace;
  const s: SbatchOptions = {
    runIds, workspace: remote, lmwb: o.lmwb ?? defaultLmwb(o.ssh), jobName: o.jobName ?? `lmwb-${runIds.length === 1 ? runIds[0] : 'sweep'}`,
    timeLimitS: o.timeLimitS, gres: o.gres, partition: o.partition, cpusPerTask: o.cpusPerTask, mem: o.mem, extra: o.extra,
    retries: o.retries, signalLeadS: o.signalLeadS, env: o.env,
    output: runIds.length === 1 ? `${remote}/runs/${runIds[0]}/slurm-%j.out` : undefined,
  };
  return renderSbatchScript(s);
}

const exec = promisify(execFile);

/** rsync of workspace paths to the cluster (over `ssh`), relative to the workspace. */
export async function rsyncToCluster(workspace: string, paths: string[], o: SlurmSubmitOptions): Promise<void> {
  if (!o.ssh || o.rsync === false) return;
  const remote = o.remoteWorkspace ?? workspace;
  const rsh = ['ssh', ...(o.sshArgs ?? [])].join(' ');
  try {
    await exec('rsync', ['-a', '--relative', '-e', rsh, ...paths.map((p) => `${workspace}/./${p}`), `${o.ssh}:${remote}/`]);
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new UserError(`rsync to ${o.ssh}:${remote} failed: ${(err.stderr ?? err.message).trim().split('\n').pop() ?? ''}`, { code: 'USER_ERROR' });
  }
}

export interface Submitted {
  /** sbatch's job id (the array id for a sweep). */
  job: string;
  runs: Array<{ id: string; ref: string }>;
  script: string;
}

/**
 * Creates runs (`create`, under the queue lock so that no local worker takes them first) and submits them as one
 * job (one run) or one job array (several). When sbatch fails the new runs are removed again (`undo` removes what
 * else `create` wrote) and the error is thrown: nothing is left half-queued.
 */
export async function submitNewRuns(
  workspace: string, create: () => { ids: string[]; configs: Array<Record<string, unknown>>; undo?: () => void }, o: SlurmSubmitOptions,
): Promise<Submitted> {
  return withQueueLock(workspace, async () => {
    const { ids, configs, undo } = create();
    const rollback = () => {
      for (const id of ids) rmSync(runDir(workspace, id), { recursive: true, force: true });
      undo?.();
    };
    let job: string;
    let script: string;
    try {
      script = slurmScript(workspace, ids, { ...o, timeLimitS: o.timeLimitS ?? timeLimitFor(configs) });
      for (const id of ids) writeFileAtomic(join(runDir(workspace, id), SLURM_FILES.script), script);
      await rsyncToCluster(workspace, ids.map((id) => `runs/${id}`), o);
      job = await sbatch(script, cliOptions(o));
    } catch (e) {
      rollback();
      throw e;
    }
    const runs = ids.map((id, i) => ({ id, ref: ids.length > 1 ? `${job}_${i}` : job }));
    const time = new Date().toISOString();
    for (const r of runs) {
      const dir = runDir(workspace, r.id);
      const rec: SlurmRecord = { job: r.ref, submitted_job: job, ssh: o.ssh, remote_workspace: o.remoteWorkspace ?? workspace, time };
      writeFileAtomic(join(dir, SLURM_FILES.record), `${JSON.stringify(rec, null, 2)}\n`);
      updateStatus(dir, { backend: `slurm:${r.ref}` });
    }
    return { job, runs, script };
  });
}

export function readSlurmRecord(dir: string): SlurmRecord | undefined {
  const p = join(dir, SLURM_FILES.record);
  if (!existsSync(p)) return undefined;
  try {
    return JSON.parse(readFileSync(p, 'utf8')) as SlurmRecord;
  } catch {
    return undefined;
  }
}

/** The run state Slurm's job state stands for, or undefined when the run's own status.json decides. */
export function runStateOfJob(state: string): RunState | undefined {
  switch (state) {
    case 'PENDING': case 'REQUEUED': case 'REQUEUE_HOLD': case 'REQUEUE_FED': case 'PREEMPTED': case 'SUSPENDED': case 'RESV_DEL_HOLD': case 'CONFIGURING':
      return 'queued';
    case 'RUNNING': case 'COMPLETING': case 'SIGNALING': case 'STAGE_OUT':
      return 'running';
    case 'CANCELLED':
      return 'cancelled';
    case 'FAILED': case 'NODE_FAIL': case 'OUT_OF_MEMORY': case 'BOOT_FAIL': case 'DEADLINE': case 'TIMEOUT': case 'SPECIAL_EXIT':
      return 'failed';
    default:
      return undefined; // COMPLETED: the job's worker wrote the run's final state itself
  }
}

export interface SlurmView {
  /** The state to show: status.json's when it is final or paused, else Slurm's when it has one. */
  state: RunState;
  /** "PENDING (Priority)", "RUNNING", … or "unknown to Slurm". */
  slurm: string;
  job: string;
}

/** Combines a run's status.json with its job's state: status.json wins when it has the newer word (final/paused). */
export function viewOf(status: RunStatus, job: SlurmJob | undefined, jobId: string): SlurmView {
  const slurm = job ? `${job.state}${job.reason && job.reason !== 'None' ? ` (${job.reason})` : ''}` : 'unknown to Slurm';
  if (FINISHED_STATES.includes(status.state) || status.state === 'paused' || !job) return { state: status.state, slurm, job: jobId };
  // A trainer reporting `running` inside a RUNNING job, or a queued run whose job is pending: the same word.
  return { state: runStateOfJob(job.state) ?? status.state, slurm, job: jobId };
}

/** Slurm's view of the Slurm-owned runs among `ids` (one squeue/scontrol call per SSH destination). */
export async function slurmViews(workspace: string, ids: string[], clientEnv?: NodeJS.ProcessEnv): Promise<Map<string, SlurmView>> {
  const out = new Map<string, SlurmView>();
  const groups = new Map<string, Array<{ id: string; status: RunStatus; rec: SlurmRecord }>>();
  for (const id of ids) {
    const dir = runDir(workspace, id);
    const status = readStatus(dir);
    if (!status?.backend?.startsWith('slurm:')) continue;
    const rec = readSlurmRecord(dir) ?? { job: status.backend.slice(6), submitted_job: status.backend.slice(6).split('_')[0], remote_workspace: workspace, time: '' };
    const k = rec.ssh ?? '';
    groups.set(k, [...(groups.get(k) ?? []), { id, status, rec }]);
  }
  for (const [ssh, runs] of groups) {
    let jobs: Map<string, SlurmJob>;
    try {
      jobs = await jobStates([...new Set(runs.map((r) => r.rec.submitted_job))], cliOptions({ ssh: ssh || undefined, clientEnv }));
    } catch {
      jobs = new Map();
    }
    for (const r of runs) out.set(r.id, viewOf(r.status, jobs.get(r.rec.job), r.rec.job));
  }
  return out;
}

/**
 * Cancels a Slurm-owned run: asks its job's worker to cancel it (the trainer checkpoints), scancels the job, and
 * records `cancelled` once the job is gone if the worker did not (a pending job never started one).
 */
export async function cancelSlurmRun(workspace: string, id: string, o: { clientEnv?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<RunState> {
  const dir = runDir(workspace, id);
  const status = readStatus(dir);
  if (!status?.backend?.startsWith('slurm:')) throw new UserError(`run ${id} is not a Slurm run`, { code: 'INVALID_ARGUMENT', data: { id } });
  const rec = readSlurmRecord(dir);
  const job = rec?.job ?? status.backend.slice(6);
  const cli = cliOptions({ ssh: rec?.ssh, clientEnv: o.clientEnv });
  if (FINISHED_STATES.includes(status.state)) {
    throw new UserError(`run ${id} is ${status.state}; only queued, running or paused runs can be cancelled`, { code: 'QUEUE_CONFLICT', data: { id, state: status.state } });
  }
  await requestStop(workspace, id, 'cancel');
  await scancel(job, cli);
  const end = Date.now() + (o.timeoutMs ?? 120_000);
  for (;;) {
    const s = readStatus(dir);
    if (s && FINISHED_STATES.includes(s.state)) return s.state;
    const j = (await jobStates([job.split('_')[0]], cli).catch(() => new Map<string, SlurmJob>())).get(job);
    const gone = !j || !['PENDING', 'RUNNING', 'COMPLETING', 'CONFIGURING', 'SUSPENDED', 'SIGNALING'].includes(j.state);
    if (gone || Date.now() > end) {
      // The job ended without its worker recording the cancel (it never started, or was killed first).
      return withQueueLock(workspace, () => {
        const cur = readStatus(dir);
        if (cur && FINISHED_STATES.includes(cur.state)) return cur.state;
        releaseClaim(dir);
        return updateStatus(dir, { state: 'cancelled', pid: undefined, ended: new Date().toISOString() }).state;
      });
    }
    await new Promise((r) => setTimeout(r, 300));
  }
}
