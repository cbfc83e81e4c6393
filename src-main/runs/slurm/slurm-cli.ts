/**
 * Slurm's command-line tools as functions: submit a script (sbatch --parsable), read job states (squeue, then
 * scontrol for jobs that left the queue), cancel (scancel) and requeue (scontrol requeue). Everything goes through
 * the real tools, so the same code works on a login node and, through an SSH prefix, from a laptop.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { UserError } from '../../util/errors';
import { shellQuote } from './script';

const run = promisify(execFile);

export interface SlurmCliOptions {
  /** Prefix for every command, e.g. ["ssh", "login.cluster"] to reach a remote login node. */
  prefix?: string[];
  env?: NodeJS.ProcessEnv;
}

async function slurm(cmd: string, args: string[], o: SlurmCliOptions, input?: string): Promise<string> {
  const [exe, ...pre] = o.prefix?.length ? [...o.prefix, cmd] : [cmd];
  // Over SSH the remote side joins the words into one shell line: quote them.
  const words = o.prefix?.length ? args.map(shellQuote) : args;
  try {
    const p = run(exe, [...pre, ...words], { env: o.env ?? process.env, maxBuffer: 16 * 1024 * 1024 });
    if (input !== undefined) {
      p.child.stdin?.end(input);
    }
    const { stdout } = await p;
    return stdout;
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { stderr?: string };
    if (err.code === 'ENOENT') {
      throw new UserError(`${cmd} was not found: the Slurm client tools must be on the PATH (Debian: slurm-client)`, { code: 'FILE_NOT_FOUND', data: { command: cmd } });
    }
    throw new UserError(`${cmd} failed: ${(err.stderr ?? err.message).trim().split('\n').pop() ?? ''}`, { code: 'USER_ERROR', data: { command: cmd, args } });
  }
}

/** Submits a batch script (its text on stdin); returns the job id (for an array, the array's id). */
export async function sbatch(script: string, o: SlurmCliOptions = {}, args: string[] = []): Promise<string> {
  const out = await slurm('sbatch', ['--parsable', ...args], o, script);
  const id = out.trim().split(';')[0];
  if (!/^\d+$/.test(id)) throw new UserError(`sbatch printed no job id: ${out.trim()}`, { code: 'USER_ERROR' });
  return id;
}

export type SlurmState =
  | 'PENDING' | 'RUNNING' | 'SUSPENDED' | 'COMPLETING' | 'COMPLETED' | 'CANCELLED' | 'FAILED' | 'TIMEOUT'
  | 'PREEMPTED' | 'NODE_FAIL' | 'OUT_OF_MEMORY' | 'REQUEUED' | 'BOOT_FAIL' | 'DEADLINE' | string;

export interface SlurmJob {
  /** "123" or, for array tasks, "123_4". */
  id: string;
  state: SlurmState;
  reason: string;
  /** Exit code "0:0" style when known. */
  exitCode?: string;
  restarts?: number;
}

/** States of the given jobs (array ids expand to their tasks). Jobs Slurm no longer knows are absent. */
export async function jobStates(ids: string[], o: SlurmCliOptions = {}): Promise<Map<string, SlurmJob>> {
  const out = new Map<string, SlurmJob>();
  if (!ids.length) return out;
  const q = await slurm('squeue', ['-h', '-r', '-o', '%i|%T|%r', '-j', ids.join(',')], o).catch(() => '');
  for (const line of q.split('\n')) {
    const [id, state, reason] = line.trim().split('|');
    if (id && state) out.set(id, { id, state, reason: reason ?? '' });
  }
  // Finished jobs leave squeue; scontrol keeps them for MinJobAge (300 s by default).
  for (const id of ids) {
    if ([...out.keys()].some((k) => k === id || k.startsWith(`${id}_`))) continue;
    const text = await slurm('scontrol', ['show', 'job', '-o', id], o).catch(() => '');
    for (const line of text.split('\n')) {
      if (!line.trim()) continue;
      const f = Object.fromEntries(line.trim().split(/\s+/).map((kv) => {
        const eq = kv.indexOf('=');
        return [kv.slice(0, eq), kv.slice(eq + 1)];
      }));
      const jid = f.ArrayTaskId && f.ArrayTaskId !== 'N/A' && f.ArrayJobId ? `${f.ArrayJobId}_${f.ArrayTaskId}` : f.JobId;
      if (jid) out.set(jid, { id: jid, state: f.JobState ?? 'UNKNOWN', reason: f.Reason ?? '', exitCode: f.ExitCode, restarts: f.Restarts ? Number(f.Restarts) : undefined });
    }
  }
  return out;
}

/** scancel, optionally with a signal to the batch shell instead of ending the job (e.g. USR1 to checkpoint). */
export async function scancel(id: string, o: SlurmCliOptions = {}, signal?: string): Promise<void> {
  await slurm('scancel', signal ? ['--batch', `--signal=${signal}`, id] : [id], o);
}

