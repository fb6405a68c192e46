#!/usr/bin/env bash
# bench/compare_llamacpp.sh — llama.cpp and npugen side by side on identical weights (issue 13).
#
#   bench/compare_llamacpp.sh [--yes] [BUILD_DIR=build] [WORK_DIR=/tmp/npugen-compare] [SHARED=../shared]
#
# One random-weight TinyLlama-1.1B-dims model (BF16, the real TinyLlama tokenizer) is written as GGUF
# F16, Q8_0, Q4_0 and Q4_K_M (npg-gguf-write, llama.cpp's layout) and exported by npugen as int4-CW and
# int4-G128. Measured, at 1 and 2 threads, interleaved (llama.cpp then npugen for each file, so every
# ratio in a row comes from one machine state):
#   - prefill of a 512-token prompt (tok/s: 512 ÷ the prompt's time, logits of its last row only);
#   - decode of 64 tokens from an empty context (llama-bench's tg64).
# llama.cpp is `llama-bench` when LLAMA_BENCH names one (a build outside the repository), else the
# prebuilt llama.cpp inside the npm package node-llama-cpp (NODE_LLAMA_CPP_VERSION, default 3.22.1),
# installed once into NPG_BENCH_CACHE (default ~/.cache/npugen-bench) and driven per token without
# sampling by bench/llamacpp_node.mjs. npugen: `npugen bench --json` (-p 512 -n 1 for prefill,
# -p 1 -n 65 for decode, with the read bandwidth measured right after the decode run).
# Output: one JSON object per measurement on stdout, then a Markdown table on stderr (and in
# WORK_DIR/table.md). Nothing here is a test; it asks before writing ~6 GB (or takes --yes).
set -euo pipefail
usage="usage: bench/compare_llamacpp.sh [--yes] [BUILD_DIR=build] [WORK_DIR=/tmp/npugen-compare] [SHARED=../shared]"
yes=false
args=()
for a in "$@"; do
  case $a in
    -h|--help) printf '%s\n\nRuns llama.cpp (LLAMA_BENCH, or node-llama-cpp from npm) and npugen on the same GGUF files\n(F16, Q8_0, Q4_0, Q4_K_M) and npugen on its int4-CW / G128 exports: 512-token prefill and\n64-token decode at 1 and 2 threads. Writes about 6 GB under WORK_DIR.\n  --yes   do not ask before writing\n' "$usage"; exit 0 ;;
    -y|--yes) yes=true ;;
    -*) printf 'compare_llamacpp.sh: unknown option %s\n%s\n' "$a" "$usage" >&2; exit 2 ;;
    *) args+=("$a") ;;
  esac
done
if (( ${#args[@]} > 3 )); then printf '%s\n' "$usage" >&2; exit 2; fi
build=${args[0]:-build}
work=${args[1]:-/tmp/npugen-compare}
shared=${args[2]:-../shared}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
npugen="$build/npugen"
threads_list=${THREADS_LIST:-"1 2"}
gguf_types=${GGUF_TYPES:-"F16 Q8_0 Q4_0 Q4_K_M"}
prompt=512
gen=64
log() { printf '%s\n' "$*" >&2; }
die() { log "compare_llamacpp.sh: $*"; exit 1; }

[[ -x $npugen ]] || die "$npugen not found: build first (make)"
[[ -x $build/npg-gguf-write ]] || die "$build/npg-gguf-write not found: this build cannot write GGUF files"
if ! $yes; then
  if [[ -t 0 ]]; then
    read -r -p "Write about 6 GB under $work and run the comparison (~15 minutes)? [y/N] " answer >&2
    [[ $answer == [yY]* ]] || { log "compare_llamacpp.sh: nothing written"; exit 1; }
  else
    log "compare_llamacpp.sh: not a terminal: pass --yes to write the models"; exit 2
  fi
fi

# llama.cpp: llama-bench, or node-llama-cpp installed into the cache folder (never into the repository)
cache=${NPG_BENCH_CACHE:-$HOME/.cache/npugen-bench}
nlc_version=${NODE_LLAMA_CPP_VERSION:-3.22.1}
if [[ -n ${LLAMA_BENCH:-} ]]; then
  [[ -x $LLAMA_BENCH ]] || die "LLAMA_BENCH=$LLAMA_BENCH is not an executable"
  llama_what="llama-bench ($LLAMA_BENCH)"
else
  command -v node >/dev/null || die "neither LLAMA_BENCH nor node: install nodejs and npm, or point LLAMA_BENCH at llama-bench"
  if [[ ! -f $cache/node_modules/node-llama-cpp/package.json ]] ||
     ! grep -q "\"version\": \"$nlc_version\"" "$cache/node_modules/node-llama-cpp/package.json"; then
    log "installing node-llama-cpp@$nlc_version into $cache"
    mkdir -p "$cache"
    npm install --prefix "$cache" --no-audit --no-fund --loglevel=error "node-llama-cpp@$nlc_version" >&2
  fi
  llama_what="node-llama-cpp $nlc_version (prebuilt llama.cpp, per-token loop)"
fi

mkdir -p "$work"
cleanup() { rm -rf "$work"/*.tmp "$work"/*.tmp-* "$work"/*.gguf.tmp*; }
trap 'cleanup; log "compare_llamacpp.sh: interrupted; removed the half-written files"; exit 130' INT TERM HUP
if [[ ! -f $work/tl-bf16/model.safetensors ]]; then
  log "writing tl-bf16"; "$build/npg-random-model" tinyllama-1.1b "$work/tl-bf16" --dtype bf16 --shared "$shared" --quiet
fi
for t in $gguf_types; do
  if [[ ! -f $work/tl-$t.gguf ]]; then
    log "writing tl-$t.gguf"; "$build/npg-gguf-write" "$work/tl-bf16" "$work/tl-$t.gguf" --type "$t"
  fi
done
for spec in "int4-cw:-1" "int4-g128:128"; do
  name=${spec%%:*}
  if [[ ! -d $work/tl-$name ]]; then
    log "exporting tl-$name"
    "$npugen" export -m "$work/tl-bf16" --weight-format int4 --sym --group-size "${spec#*:}" --quiet "$work/tl-$name"
  fi
done

# One llama.cpp measurement: prints {"prefill_tok_s", "decode_tok_s", "peak_rss_mb"}.
llama_run() { # file threads
  if [[ -n ${LLAMA_BENCH:-} ]]; then
    "$LLAMA_BENCH" -m "$1" -t "$2" -p "$prompt" -n "$gen" -r 1 -o json 2>/dev/null | python3 -c '
import json, sys
rows = json.load(sys.stdin)
pp = [r["avg_ts"] for r in rows if r.get("n_prompt", 0) > 0 and r.get("n_gen", 0) == 0]
tg = [r["avg_ts"] for r in rows if r.get("n_gen", 0) > 0 and r.get("n_prompt", 0) == 0]
print(json.dumps({"prefill_tok_s": pp[0] if pp else None, "decode_tok_s": tg[0] if tg else None, "peak_rss_mb": None}))'
  else
    NODE_LLAMA_CPP_DIR="$cache/node_modules/node-llama-cpp" node "$here/llamacpp_node.mjs" "$1" "$2" "$prompt" "$gen"
  fi
}

# One npugen measurement: prefill and decode runs merged.
npugen_run() { # model threads
  local pre dec
  pre=$("$npugen" bench "$1" -p "$prompt" -n 1 -t "$2" --json --no-bandwidth)
  dec=$("$npugen" bench "$1" -p 1 -n $((gen + 1)) -t "$2" --json)
  python3 -c '
import json, sys
pre, dec = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print(json.dumps({"prefill_tok_s": pre["prefill_tok_s"], "decode_tok_s": dec["decode_tok_s"],
                  "peak_rss_mb": max(pre["peak_rss_mb"], dec["peak_rss_mb"]), "mem_bw_gbs": dec["mem_bw_gbs"],
                  "decode_bw_fraction": dec["decode_bw_fraction"], "weight_mb": dec.get("weights_mb")}))' "$pre" "$dec"
}

results=$work/results.jsonl
: > "$results"
emit() { # engine format threads file json
  python3 -c '
import json, os, sys
r = json.loads(sys.argv[5])
r.update(engine=sys.argv[1], format=sys.argv[2], threads=int(sys.argv[3]), file_mb=os.path.getsize(sys.argv[4]) / 1e6
         if os.path.isfile(sys.argv[4]) else sum(os.path.getsize(os.path.join(sys.argv[4], f)) for f in os.listdir(sys.argv[4])) / 1e6)
print(json.dumps(r))' "$@" | tee -a "$results"
}

log "llama.cpp: $llama_what"
for th in $threads_list; do
  for t in $gguf_types; do
    f=$work/tl-$t.gguf
    log "threads $th: $t — llama.cpp"; emit llama.cpp "$t" "$th" "$f" "$(llama_run "$f" "$th")"
    log "threads $th: $t — npugen"; emit npugen "$t" "$th" "$f" "$(npugen_run "$f" "$th")"
  done
  for name in int4-cw int4-g128; do
    log "threads $th: $name — npugen"; emit npugen "$name" "$th" "$work/tl-$name" "$(npugen_run "$work/tl-$name" "$th")"
  done
done

# The table: every row against llama.cpp's Q4_0 at the same threads (and its own format's llama.cpp run).
python3 - "$results" "$llama_what" <<'PY' | tee "$work/table.md" >&2
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
def find(engine, fmt, th):
    return next((r for r in rows if r["engine"] == engine and r["format"] == fmt and r["threads"] == th), None)
def f(v, d=1):
    return "—" if v is None else f"{v:.{d}f}"
def ratio(a, b):
    return "—" if a is None or b is None or not b else f"{a / b:.2f}×"
# KV cache of npugen (f32): 22 layers × 2 × positions × 256 (4 KV heads × 64) × 4 bytes, 513 positions
kv_mb = 22 * 2 * 513 * 256 * 4 / 1e6
print(f"llama.cpp: {sys.argv[2]}\n")
print("| format | threads | file MB | llama.cpp prefill tok/s | npugen prefill tok/s | prefill ratio | llama.cpp decode tok/s | npugen decode tok/s | decode ratio | npugen ÷ llama.cpp Q4_0 (prefill / decode) | npugen decode ÷ bandwidth | npugen peak RSS MB (÷ weights + KV) | llama.cpp peak RSS MB |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for th in sorted({r["threads"] for r in rows}):
    q4 = find("llama.cpp", "Q4_0", th)
    for fmt in [r["format"] for r in rows if r["threads"] == th and r["engine"] == "npugen"]:
        n, l = find("npugen", fmt, th), find("llama.cpp", fmt, th)
        base = (q4 or {})
        bw, gbs = n.get("decode_bw_fraction"), n.get("mem_bw_gbs") or 0
        bw_s = "—" if bw is None else f"{100 * bw:.0f}% of {gbs:.0f} GB/s"
        rss = n.get("peak_rss_mb")
        print(f"| {fmt} | {th} | {f(n['file_mb'], 0)} | {f(l and l['prefill_tok_s'])} | {f(n['prefill_tok_s'])} | "
              f"{ratio(n['prefill_tok_s'], l and l['prefill_tok_s'])} | {f(l and l['decode_tok_s'], 2)} | {f(n['decode_tok_s'], 2)} | "
              f"{ratio(n['decode_tok_s'], l and l['decode_tok_s'])} | "
              f"{ratio(n['prefill_tok_s'], base.get('prefill_tok_s'))} / {ratio(n['decode_tok_s'], base.get('decode_tok_s'))} | "
              f"{bw_s} | "
              f"{f(rss, 0)} ({ratio(rss, n['file_mb'] + kv_mb)}) | {f(l and l.get('peak_rss_mb'), 0)} |")
PY
