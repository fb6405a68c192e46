#!/usr/bin/env bash
# bench/benchmarks.sh — regenerates the model-level figures of docs/benchmarks.md in one run, so every
# ratio in a table comes from the same machine state.
#
#   bench/benchmarks.sh [BUILD_DIR=build] [WORK_DIR=/tmp/npugen-bench] [SHARED=../shared]
#
# Writes random-weight TinyLlama-1.1B-dims models (BF16, F32; then int8 / int4 CW / int4 G128 / nf4
# exports of the BF16 one) under WORK_DIR (about 12 GB) and runs `npugen bench --json` on each at 1 and
# 2 threads, with 128- and 512-token prompts. Prints one JSON object per line (model, config, then
# npugen bench's keys) on stdout; progress on stderr. Nothing is timed in the test suite.
set -euo pipefail
build=${1:-build}
work=${2:-/tmp/npugen-bench}
shared=${3:-../shared}
npugen="$build/npugen"
mkdir -p "$work"
log() { printf '%s\n' "$*" >&2; }

if [[ ! -f $work/tl-bf16/model.safetensors ]]; then
  log "writing tl-bf16"; "$build/npg-random-model" tinyllama-1.1b "$work/tl-bf16" --dtype bf16 --shared "$shared" --quiet
fi
if [[ ! -f $work/tl-f32/model.safetensors ]]; then
  log "writing tl-f32"; "$build/npg-random-model" tinyllama-1.1b "$work/tl-f32" --dtype f32 --shared "$shared" --quiet
fi
export_if_missing() { # name, export args...
  local name=$1; shift
  if [[ ! -d $work/$name ]]; then
    log "exporting $name"; "$npugen" export -m "$work/tl-bf16" "$@" --quiet "$work/$name"
  fi
}
export_if_missing tl-int8 --weight-format int8
export_if_missing tl-int4-cw --weight-format int4 --sym --group-size -1
export_if_missing tl-int4-g128 --weight-format int4 --sym --group-size 128
export_if_missing tl-nf4 --weight-format nf4 --group-size -1

models=${MODELS:-"tl-f32 tl-bf16 tl-int8 tl-int4-cw tl-int4-g128 tl-nf4"}
for m in $models; do
  for t in 1 2; do
    for p in 128 512; do
      log "bench $m threads=$t prompt=$p"
      json=$("$npugen" bench "$work/$m" -p "$p" -n 32 -t "$t" --json)
      printf '{"model": "%s", %s\n' "$m" "${json#\{}"
    done
  done
done
