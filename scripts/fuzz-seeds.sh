#!/usr/bin/env bash
# scripts/fuzz-seeds.sh BUILD_DIR SHARED_DIR — builds the fuzzers' seed corpora into BUILD_DIR/corpus/<target>/
# from ../shared at run time (nothing of ../shared is committed): real model files, tokenizers, chat
# templates, plus a container and NPU blobs made from a small model with BUILD_DIR/npugen. The
# committed regression inputs (fuzz/regressions/<target>/) are added too, so a campaign starts from
# every input that ever crashed. Idempotent: an existing corpus folder is kept (libFuzzer adds to it).
set -euo pipefail
build=${1:?usage: fuzz-seeds.sh BUILD_DIR SHARED_DIR}
shared=${2:?usage: fuzz-seeds.sh BUILD_DIR SHARED_DIR}
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
corpus=$build/corpus
npugen=$build/npugen
mkdir -p "$corpus"

seed() { # seed TARGET NAME < bytes
  mkdir -p "$corpus/$1"
  cat > "$corpus/$1/$2"
}
# u64 little-endian length prefix + JSON header + zero data: a small valid safetensors file
st() { # st NAME JSON DATA_BYTES
  local json=$2 n=${#2} i hex=""
  for i in 0 1 2 3 4 5 6 7; do hex+=$(printf '\\x%02x' $(((n >> (8 * i)) & 255))); done
  { printf "$hex"; printf '%s' "$json"; head -c "$3" /dev/zero; } | seed safetensors "$1"
}

# safetensors: two real small models in full, tiny hand-made ones covering each dtype and sharding keys
for m in random-qwen3 random-llama-gqa; do
  seed safetensors "$m" < "$shared/models/$m/model.safetensors"
done
st tiny_f32 '{"a":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]}}' 24
st tiny_mixed '{"__metadata__":{"format":"pt"},"w":{"dtype":"BF16","shape":[4],"data_offsets":[0,8]},"b":{"dtype":"F16","shape":[2],"data_offsets":[8,12]},"i":{"dtype":"I64","shape":[1],"data_offsets":[16,24]}}' 24
st tiny_scalar '{"s":{"dtype":"F64","shape":[],"data_offsets":[0,8]},"e":{"dtype":"U8","shape":[0],"data_offsets":[8,8]}}' 8

# config.json and generation_config.json of every model folder
for d in "$shared"/models/*/; do
  m=$(basename "$d")
  for f in config.json generation_config.json; do
    [[ -f $d/$f ]] && seed config "${m}_$f" < "$d/$f"
  done
done

# tokenizer: the small real tokenizers, alone and followed by "\0\0" + a text to encode
seed tokenizer stories260K < "$shared/models/stories260K/tokenizer.json"
seed tokenizer tinyllama-chat < "$shared/tokenizers/tinyllama-chat/tokenizer.json"
{ cat "$shared/models/stories260K/tokenizer.json"; printf '\0\0'; head -c 600 "$shared/tokenizers/llamacpp-tests/ggml-vocab-llama-spm.gguf.inp"; } |
  seed tokenizer stories260K_text

# template: the vendor chat templates and the tokenizers' own
for f in "$shared"/chat-templates/*.jinja; do
  seed template "$(basename "$f" .jinja)" < "$f"
done
seed template context_json < <(printf '{%% for m in messages %%}{{ m.role | upper }}: {{ m.content | tojson }}{%% endfor %%}{{ list | length }}\0{"messages":[{"role":"user","content":"x"}],"list":[1,2]}')

# npgw containers and NPU blobs from a small model (the CLI built beside the fuzzers)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
model=$shared/models/random-llama-gqa
if [[ ! -d $corpus/npgw || -z $(ls -A "$corpus/npgw" 2>/dev/null) ]]; then
  for wf in fp16 int8 int4; do
    extra=(); [[ $wf == int4 ]] && extra=(--sym --group-size 32)
    "$npugen" export -m "$model" --weight-format "$wf" "${extra[@]}" --quiet "$tmp/$wf" >/dev/null
    seed npgw "random-llama-gqa_$wf" < "$tmp/$wf/model.npgw"
  done
fi
if [[ ! -d $corpus/blob || -z $(ls -A "$corpus/blob" 2>/dev/null) ]]; then
  "$npugen" compile "$model" --device NPU -o "$tmp/weightless.blob" -c MAX_PROMPT_LEN=64 -c MIN_RESPONSE_LEN=64 >/dev/null
  "$npugen" compile "$model" --device NPU -o "$tmp/weights.blob" -c MAX_PROMPT_LEN=64 -c MIN_RESPONSE_LEN=64 \
    -c CACHE_MODE=OPTIMIZE_SPEED -c GENERATE_HINT=BEST_PERF >/dev/null
  for b in weightless weights; do
    seed blob "random-llama-gqa_$b" < "$tmp/$b.blob"
    seed blob_encrypted "random-llama-gqa_$b" < "$tmp/$b.blob" # plain layout: the harness encrypts
  done
fi

# gguf: a small model at two weight types and a vocabulary-only file (npg-gguf-write, built beside)
if [[ ! -d $corpus/gguf || -z $(ls -A "$corpus/gguf" 2>/dev/null) ]]; then
  for ty in Q8_0 Q4_K_M; do
    "$build/npg-gguf-write" "$shared/models/stories260K" "$tmp/s260_$ty.gguf" --type "$ty"
    seed gguf "stories260K_$ty" < "$tmp/s260_$ty.gguf"
  done
  "$build/npg-gguf-write" --vocab-only "$shared/tokenizers/qwen2_5" "$tmp/vocab_qwen2.gguf"
  seed gguf vocab_qwen2 < "$tmp/vocab_qwen2.gguf"
fi

# image: the shared photos (PNG, JPEG) as they are
for f in "$shared"/images/*.png "$shared"/images/*.jpg; do
  [[ -f $f ]] && seed image "$(basename "$f")" < "$f"
done

# audio: the shared WAV and FLAC files, each cut to its first 64 KiB (a header and some frames: the
# FLAC streams then end mid-frame, a truncation the decoder must survive)
for f in "$shared"/audio/*.wav "$shared"/audio/*.flac; do
  [[ -f $f ]] && head -c 65536 "$f" | seed audio "$(basename "$f")"
done

# hub_listing: the listing shapes the Hub answers with (?blobs=true), made from a shared model folder
commit=0123456789abcdef0123456789abcdef01234567
printf '{"id":"org/name","sha":"%s","siblings":[{"rfilename":"config.json","blobId":"%s","size":%d},{"rfilename":"model.safetensors","blobId":"%s","size":%d,"lfs":{"sha256":"%s","size":%d,"pointerSize":134}},{"rfilename":"sub/dir/tokenizer.json","blobId":"%s","size":10}]}' \
  "$commit" "$commit" 411 "$commit" 1056992 "$(printf 'a%.0s' {1..64})" 1056992 "$commit" | seed hub_listing listing_blobs
printf '{"sha":"%s","siblings":[]}' "$commit" | seed hub_listing listing_empty

shopt -s nullglob
for f in "$root"/fuzz/regressions/*/*; do
  t=$(basename "$(dirname "$f")")
  mkdir -p "$corpus/$t"
  cp -f "$f" "$corpus/$t/"
done
for t in "$corpus"/*/; do echo "$(basename "$t"): $(ls "$t" | wc -l) seeds"; done
