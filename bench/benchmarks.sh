#!/usr/bin/env bash
# bench/benchmarks.sh — regenerates the model-level figures of docs/benchmarks.md in one run, so every
# ratio in a table comes from the same machine state.
#
#   bench/benchmarks.sh [--yes] [BUILD_DIR=build] [WORK_DIR=/tmp/npugen-bench] [SHARED=../shared]
#
# Writes random-weight TinyLlama-1.1B-dims models (BF16, F32; then int8 / int4 CW / int4 G128 / nf4
# exports of the BF16 one) under WORK_DIR (about 12 GB) and runs `npugen bench --json` on each at 1 and
# 2 threads, with 128- and 512-token prompts. Prints one JSON object per line (model, config, then
# npugen bench's keys) on stdout; progress on stderr. Nothing is timed in the test suite.
# It asks before writing (or takes --yes), and an interrupted run removes its half-written folders
# (*.tmp, *.tmp-*) so the next run starts clean.
set -euo pipefail
usage="usage: bench/benchmarks.sh [--yes] [BUILD_DIR=build] [WORK_DIR=/tmp/npugen-bench] [SHARED=../shared]"
yes=false
args=()
for a in "$@"; do
  case $a in
    -h|--help) printf '%s\n\nWrites about 12 GB of random-weight TinyLlama-1.1B-dims models under WORK_DIR, then runs\n`npugen bench --json` on each (about 10 minutes); one JSON object per line on stdout.\n  --yes   do not ask before writing\n' "$usage"; exit 0 ;;
    -y|--yes) yes=true ;;
    -*) printf 'benchmarks.sh: unknown option %s\n%s\n' "$a" "$usage" >&2; exit 2 ;;
    *) args+=("$a") ;;
  esac
done
if (( ${#args[@]} > 3 )); then printf '%s\n' "$usage" >&2; exit 2; fi
build=${args[0]:-build}
work=${args[1]:-/tmp/npugen-bench}
shared=${args[2]:-../shared}
npugen="$build/npugen"
log() { printf '%s\n' "$*" >&2; }

log "$usage"
log "benchmarks.sh: writes about 12 GB under $work (models already there are reused); free there now:" \
    "$(df -h --output=avail "$(dirname "$work")" 2>/dev/null | tail -1 | tr -d ' ' || echo '?')"
if ! $yes; then
  if [[ -t 0 ]]; then
    read -r -p "Continue? [y/N] " answer >&2
    [[ $answer == [yY]* ]] || { log "benchmarks.sh: nothing written"; exit 1; }
  else
    log "benchmarks.sh: not a terminal: pass --yes to write them"; exit 2
  fi
fi

mkdir -p "$work"
# half-written outputs of npg-random-model (DIR.tmp) and npugen export (DIR.tmp-XXXXXX)
cleanup() { rm -rf "$work"/*.tmp "$work"/*.tmp-*; }
trap 'cleanup; log "benchmarks.sh: interrupted; removed the half-written folders"; exit 130' INT TERM HUP

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
