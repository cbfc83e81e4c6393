#!/usr/bin/env bash
# What the UI's e2e tests need on a Debian machine: Chromium (driven by playwright-core; no browser download).
# Called by .ci/run before `npm test`. Idempotent.
set -euo pipefail
if [ ! -x /usr/bin/chromium ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi
/usr/bin/chromium --version
