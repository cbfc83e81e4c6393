// The laptop-over-SSH path against the real test cluster: `--ssh DEST` sends every Slurm command through
// `ssh DEST …` (quoted for the remote shell) and rsyncs the new run folder to `--remote-workspace` first; the job
// trains there. There is no SSH server on the test machine, so `ssh` here is a stand-in on PATH that runs the
// remote command line in a local shell (what sshd does after authentication); everything else is real: rsync,
// sbatch/squeue/scontrol, the job, the trainer.
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers';
import { readStatus } from '../../src-main/runs/read';
import { CliResult, gpuEnv, tinyConfig, tinyTokens, waitStatus, writeJson } from '../runs/helpers';
import { repoRoot } from '../helpers';
import { spawnSync } from 'node:child_process';
import { slurmUnavailable, startSlurmCluster, type SlurmCluster } from '../helpers/slurm-cluster';

const why = slurmUnavailable() ?? (spawnSync('sh', ['-c', 'command -v rsync']).status !== 0 ? 'rsync is not installed' : undefined);
if (why && process.env.CI === 'true') throw new Error(`CI needs Slurm and rsync for these tests: ${why}`);
const CLI = join(repoRoot, 'bin', 'lmwb.mjs');

describe.skipIf(!!why)('Slurm from another machine over SSH (ssh stand-in: a local shell)', () => {
  let c: SlurmCluster;
  const tmp = tempDir('lmwb-slurm-ssh-');
  const laptop = join(tmp.path, 'laptop');
  const cluster = join(tmp.path, 'cluster-ws');
  const bin = join(tmp.path, 'bin');
  const log = join(tmp.path, 'ssh.log');
  beforeAll(async () => {
    c = await startSlurmCluster({ cpus: 4 });
    for (const d of [laptop, cluster, bin]) mkdirSync(d, { recursive: true });
    // ssh [options] DEST COMMAND...: logs the destination and command, runs the command in a shell.
    // (rsync calls it as `ssh -l me login rsync --server …`.)
    const script = [
      '#!/bin/sh',
      'user=""',
      'while [ "$#" -gt 0 ]; do case "$1" in -l) user="$2@"; shift 2;; -[pioFJ]) shift 2;; -*) shift;; *) break;; esac; done',
      `dest="$user$1"; shift`,
      `echo "$dest :: $*" >> ${log}`,
      'exec sh -c "$*"',
      '',
    ].join('\n');
    writeFileSync(join(bin, 'ssh'), script);
    chmodSync(join(bin, 'ssh'), 0o755);
  }, 60_000);
  afterAll(() => {
    c?.stop();
    tmp.cleanup();
  });

  const lmwb = (args: string[]): CliResult => {
    const r = spawnSync(process.execPath, [CLI, ...args], { cwd: laptop, encoding: 'utf8', env: { ...gpuEnv(), SLURM_CONF: c.env.SLURM_CONF, PATH: `${bin}:${process.env.PATH}` }, timeout: 120_000 });
    return { code: r.status, out: r.stdout, err: r.stderr };
  };

  it('submits through ssh, copies the run folder with rsync, trains it in the remote workspace', async () => {
    const tokens = tinyTokens(tmp.path);
    const cfg = writeJson(join(tmp.path, 'c.json'), tinyConfig(tokens, { steps: 40, name: 'remote run' }));
    const r = lmwb(['queue', 'add', '--config', cfg, '--backend', 'slurm', '--gres', '', '--ssh', 'me@login', '--remote-workspace', cluster,
      '--lmwb', `${process.execPath} ${CLI}`, '--slurm-arg=--comment=it is mine']);
    expect(r.code, r.err).toBe(0);
    const id = r.out.trim();
    const job = /Slurm job (\d+)/.exec(r.err)![1];
    const calls = readFileSync(log, 'utf8');
    expect(calls).toMatch(/^me@login :: rsync --server/m);
    expect(calls).toMatch(/^me@login :: sbatch --parsable$/m);
    // the run folder went to the cluster, and the job trains it there
    expect(existsSync(join(cluster, 'runs', id, 'config.json'))).toBe(true);
    const done = await waitStatus(join(cluster, 'runs', id), (s) => s.state === 'done', 150_000, 'the remote run');
    expect(done.backend).toBe(`slurm:${job}`);
    expect(readFileSync(join(cluster, 'runs', id, 'slurm.sbatch'), 'utf8')).toContain(`#SBATCH --comment="it is mine"`);
    // the laptop's copy asks Slurm over ssh: the job completed (its metrics come back with rsync)
    const show = lmwb(['runs', 'show', id]);
    expect(show.code, show.err).toBe(0);
    expect(show.out).toMatch(new RegExp(`slurm +job ${job}: COMPLETED`));
    expect(readFileSync(log, 'utf8')).toMatch(new RegExp(`^me@login :: (squeue|scontrol) .*${job}`, 'm'));
    expect(readStatus(join(laptop, 'runs', id))!.backend).toBe(`slurm:${job}`);
  }, 240_000);
});
