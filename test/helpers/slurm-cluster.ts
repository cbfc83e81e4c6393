// A real one-node Slurm cluster for tests: munged, slurmctld and slurmd on loopback, configured in a temporary
// folder with free ports, started as root (as in CI) and stopped with every daemon it started. Debian's
// slurmctld/slurmd/slurm-client/munge packages must be installed (scripts/slurm-ci-setup.sh does it in CI).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { createServer } from 'node:net';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';

export interface SlurmCluster {
  dir: string;
  /** Environment for the Slurm client tools (SLURM_CONF). */
  env: NodeJS.ProcessEnv;
  stop(): void;
}

const DAEMONS = ['munged', 'slurmctld', 'slurmd'];

/** Why a cluster cannot start here (tools missing, not root), or undefined when it can. */
export function slurmUnavailable(): string | undefined {
  const missing = DAEMONS.concat(['sbatch', 'squeue', 'scancel', 'scontrol']).filter((t) => spawnSync('sh', ['-c', `command -v ${t} || test -x /usr/sbin/${t}`]).status !== 0);
  if (missing.length) return `Slurm is not installed (missing ${missing.join(', ')}): apt-get install slurmctld slurmd slurm-client munge (scripts/slurm-ci-setup.sh)`;
  if (process.getuid?.() !== 0) return 'the test Slurm cluster runs its daemons as root';
  return undefined;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

const sbin = (name: string) => (existsSync(`/usr/sbin/${name}`) ? `/usr/sbin/${name}` : name);

export async function startSlurmCluster(opts: { cpus?: number } = {}): Promise<SlurmCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'lmwb-slurm-'));
  for (const d of ['state', 'spool', 'log', 'munge']) mkdirSync(join(dir, d), { recursive: true });
  const key = join(dir, 'munge', 'munge.key');
  writeFileSync(key, randomBytes(1024));
  chmodSync(key, 0o400);
  const socket = join(dir, 'munge', 'munge.socket');
  execFileSync(sbin('munged'), ['--force', `--key-file=${key}`, `--socket=${socket}`, `--pid-file=${join(dir, 'munge', 'munged.pid')}`, `--log-file=${join(dir, 'munge', 'munged.log')}`, `--seed-file=${join(dir, 'munge', 'seed')}`]);
  const [ctldPort, dPort] = [await freePort(), await freePort()];
  const node = 'lmwbnode';
  const conf = join(dir, 'slurm.conf');
  writeFileSync(conf, [
    'ClusterName=lmwbtest',
    `SlurmctldHost=${hostname()}(127.0.0.1)`,
    `SlurmctldPort=${ctldPort}`,
    `SlurmdPort=${dPort}`,
    'AuthType=auth/munge',
    'CredType=cred/munge',
    `AuthInfo=socket=${socket}`,
    'SlurmUser=root',
    'SlurmdUser=root',
    'ProctrackType=proctrack/linuxproc',
    'TaskPlugin=task/none',
    'SelectType=select/cons_tres',
    'SelectTypeParameters=CR_Core',
    'SchedulerType=sched/backfill',
    `StateSaveLocation=${join(dir, 'state')}`,
    `SlurmdSpoolDir=${join(dir, 'spool')}`,
    `SlurmctldPidFile=${join(dir, 'slurmctld.pid')}`,
    `SlurmdPidFile=${join(dir, 'slurmd.pid')}`,
    `SlurmctldLogFile=${join(dir, 'log', 'slurmctld.log')}`,
    `SlurmdLogFile=${join(dir, 'log', 'slurmd.log')}`,
    'ReturnToService=2',
    // The node's CPUs and memory as configured here, whatever the machine has (several tiny jobs on a 2-core box).
    'SlurmdParameters=config_overrides',
    'JobRequeue=1',
    'MpiDefault=none',
    'JobAcctGatherType=jobacct_gather/none',
    'AccountingStorageType=accounting_storage/none',
    'MinJobAge=3600',
    'KillWait=10',
    `NodeName=${node} NodeAddr=127.0.0.1 NodeHostname=${hostname()} CPUs=${opts.cpus ?? 4} RealMemory=4000 State=UNKNOWN`,
    `PartitionName=debug Nodes=${node} Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE:4`,
    '',
  ].join('\n'));
  const env = { ...process.env, SLURM_CONF: conf };
  const stop = () => {
    for (const [pidFile, name] of [[join(dir, 'slurmd.pid'), 'slurmd'], [join(dir, 'slurmctld.pid'), 'slurmctld'], [join(dir, 'munge', 'munged.pid'), 'munged']]) {
      try {
        const pid = Number(readFileSync(pidFile, 'utf8').trim());
        if (pid > 0) process.kill(pid, 'SIGTERM');
      } catch {
        /* not running */
      }
      void name;
    }
    // Give the daemons a moment, then force what is left.
    spawnSync('sleep', ['1']);
    for (const pidFile of [join(dir, 'slurmd.pid'), join(dir, 'slurmctld.pid'), join(dir, 'munge', 'munged.pid')]) {
      try {
        process.kill(Number(readFileSync(pidFile, 'utf8').trim()), 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    execFileSync(sbin('slurmctld'), ['-f', conf], { env });
    execFileSync(sbin('slurmd'), ['-f', conf, '-N', node], { env });
    // Wait until the node is idle.
    const deadline = Date.now() + 30_000;
    for (;;) {
      const r = spawnSync('sinfo', ['-h', '-N', '-o', '%T'], { env, encoding: 'utf8' });
      if (r.status === 0 && /idle|mix|alloc/.test(r.stdout)) break;
      if (Date.now() > deadline) throw new Error(`the test Slurm cluster did not come up: ${r.stdout}${r.stderr}\n${readFileSync(join(dir, 'log', 'slurmctld.log'), 'utf8').slice(-2000)}`);
      spawnSync('sleep', ['0.3']);
    }
  } catch (e) {
    stop();
    throw e;
  }
  return { dir, env, stop };
}
