#!/usr/bin/env bash
# Installs what the Slurm backend's tests need on a Debian machine: the Slurm daemons and client tools, munge,
# and rsync (the --ssh path copies run folders with it).
# The tests configure and start a one-node cluster on loopback themselves (test/helpers/slurm-cluster.ts).
set -euo pipefail
if ! command -v sbatch >/dev/null || [ ! -x /usr/sbin/slurmctld ] || [ ! -x /usr/sbin/slurmd ] || [ ! -x /usr/sbin/munged ] || ! command -v rsync >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends slurmctld slurmd slurm-client munge rsync >/dev/null
fi
