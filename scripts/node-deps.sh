#!/usr/bin/env bash
# node-deps.sh — installs the npm packages of the server tests (tests/node/package-lock.json: the
# official `openai` client and puppeteer-core) into tests/node/node_modules, when missing or older
# than the lock file. `make test` and `make asan-test` run it. Offline, it says what failed and lets
# the build go on: the Node tests then fail naming the missing packages.
set -uo pipefail
dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/../tests/node" && pwd)
stamp=$dir/node_modules/.package-lock.json
if [[ -f $stamp && ! $dir/package-lock.json -nt $stamp ]]; then
  exit 0
fi
# Debian's nodejs package comes without npm (a NodeSource nodejs bundles it): install Debian's npm
# package only when the command is missing, so a NodeSource install is left alone.
if ! command -v npm >/dev/null && command -v apt-get >/dev/null; then
  sudo=()
  ((EUID == 0)) || sudo=(sudo -n)
  echo "node-deps: npm is missing: apt-get install npm" >&2
  "${sudo[@]}" apt-get install -y -q npm >/dev/null 2>&1 ||
    { "${sudo[@]}" apt-get update -q >/dev/null 2>&1 && "${sudo[@]}" apt-get install -y -q npm >/dev/null 2>&1; } || true
fi
if ! command -v npm >/dev/null; then
  echo "node-deps: npm is not installed: the Node tests of npugen serve will fail (apt-get install npm)" >&2
  exit 0
fi
echo "node-deps: npm ci in tests/node (openai, puppeteer-core)"
if ! (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error); then
  echo "node-deps: npm ci failed (is the npm registry reachable?): the Node tests of npugen serve will fail;" \
       "run 'make node-deps' when online" >&2
fi
exit 0
