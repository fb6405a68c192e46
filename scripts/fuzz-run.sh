#!/usr/bin/env bash
# scripts/fuzz-run.sh BUILD_DIR SECONDS [TARGET...] — runs each libFuzzer target (default: all
# BUILD_DIR/fuzz/fuzz_*) for SECONDS on its corpus (BUILD_DIR/corpus/<target>, grown in place).
# A crash, leak, sanitizer report, timeout (> 10 s on one input) or memory blow-up (> 2 GB) stops
# that target, leaves the input in BUILD_DIR/artifacts/<target>/ and makes the script exit 1.
# Prints each target's final figures (executions, coverage edges "cov", features "ft", corpus size).
set -uo pipefail
build=${1:?usage: fuzz-run.sh BUILD_DIR SECONDS [TARGET...]}
seconds=${2:?usage: fuzz-run.sh BUILD_DIR SECONDS [TARGET...]}
shift 2
targets=("$@")
if ((${#targets[@]} == 0)); then
  for f in "$build"/fuzz/fuzz_*; do targets+=("$(basename "$f" | sed 's/^fuzz_//')"); done
fi
failed=0
mkdir -p "$build/fuzz-logs"
for t in "${targets[@]}"; do
  bin=$build/fuzz/fuzz_$t
  mkdir -p "$build/corpus/$t" "$build/artifacts/$t"
  log=$build/fuzz-logs/$t.log
  # the targets write each input to a scratch folder under TMPDIR; a crash skips their clean-up
  scratch=$build/fuzz-tmp/$t
  mkdir -p "$scratch"
  TMPDIR=$scratch "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$build/artifacts/$t/" "$build/corpus/$t" >"$log" 2>&1
  rc=$?
  rm -rf "$scratch"
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$')
  last=$(grep -E '^#[0-9]+' "$log" | tail -1)
  cov=$(grep -o 'cov: [0-9]*' <<<"$last" | grep -o '[0-9]*')
  ft=$(grep -o 'ft: [0-9]*' <<<"$last" | grep -o '[0-9]*')
  corp=$(grep -o 'corp: [0-9]*' <<<"$last" | grep -o '[0-9]*')
  printf '%-16s %4ss  execs %-9s cov %-6s ft %-6s corpus %-5s %s\n' "$t" "$seconds" "${execs:-?}" "${cov:-?}" \
    "${ft:-?}" "${corp:-?}" "$([[ $rc == 0 ]] && echo ok || echo "FAILED (rc $rc, see $log)")"
  if [[ $rc != 0 ]]; then
    failed=1
    grep -E 'ERROR|SUMMARY|==[0-9]+==|artifact' "$log" | head -8
  fi
done
exit $failed
