#!/usr/bin/env bash
# run_node.sh CLI SHARED SRC TEST — runs the Node test file tests/node/TEST (node --test) against the
# npugen binary CLI, with ../shared at SHARED. The npm packages come from `make node-deps` (npm ci in
# tests/node, run by `make test`); without them the test fails saying so.
set -euo pipefail
cli=$1 shared=$2 src=$3 test=$4
if ! command -v node >/dev/null; then
  echo "run_node: node is not installed (scripts/debian-packages.txt lists nodejs)" >&2
  exit 1
fi
if [[ ! -f $src/tests/node/node_modules/.package-lock.json ]]; then
  echo "run_node: tests/node/node_modules is missing: run 'make node-deps' (npm ci in tests/node; needs the npm registry once)" >&2
  exit 1
fi
cd "$src/tests/node"
NPG_CLI=$cli NPG_SHARED_DIR=$shared exec node --test --test-reporter=spec "$test"
