#!/usr/bin/env bash
# install-deps.sh — installs the Debian packages npugen needs that are missing.
#
#   scripts/install-deps.sh [-v] [LIST]
#
# LIST (default scripts/debian-packages.txt) names one package per line; '#' starts a comment.
# `make build/demo/test/asan-test` and `.ci/run` run this first, so it must be quick and silent when
# everything is present (one dpkg-query call, no apt-get). When something is missing it says what it
# installs, runs `apt-get update` + `apt-get install` (through sudo when not root) and checks again.
# Where it cannot install (no dpkg/apt-get, not root and no usable sudo) it prints one message with
# the exact command to run and exits 1. NPG_SKIP_DEPS=1 skips it (dependencies managed elsewhere).
#   -v   also say so when everything is present
set -euo pipefail

verbose=0
if [[ ${1-} == -v ]]; then
  verbose=1
  shift
fi
list=${1:-$(dirname "${BASH_SOURCE[0]}")/debian-packages.txt}
me="install-deps"

if [[ ${NPG_SKIP_DEPS-} == 1 ]]; then
  exit 0
fi
if [[ ! -r $list ]]; then
  echo "$me: cannot read the package list $list" >&2
  exit 1
fi

packages=()
while IFS= read -r line || [[ -n $line ]]; do
  line=${line%%#*}
  line=${line//[[:space:]]/}
  [[ -n $line ]] && packages+=("$line")
done <"$list"
((${#packages[@]} > 0)) || exit 0

if ! command -v dpkg-query >/dev/null 2>&1; then
  echo "$me: no dpkg-query here (not Debian/Ubuntu?): install the equivalents of: ${packages[*]}" \
    "(or set NPG_SKIP_DEPS=1 once they are present)" >&2
  exit 1
fi

# One dpkg-query for all: an installed package prints "NAME installed"; an unknown one prints
# nothing (its error goes to stderr); a removed one keeps "config-files" / "not-installed".
declare -A installed=()
while read -r name state; do
  [[ $state == installed ]] && installed[${name%%:*}]=1
done < <(dpkg-query -W -f='${Package} ${db:Status-Status}\n' "${packages[@]}" 2>/dev/null || true)
missing=()
for p in "${packages[@]}"; do
  [[ -n ${installed[$p]-} ]] || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  ((verbose)) && echo "$me: all ${#packages[@]} packages present: ${packages[*]}"
  exit 0
fi

# The command a person would type, for the messages below.
command_for() { echo "$1apt-get update && $1apt-get install -y --no-install-recommends ${missing[*]}"; }
sudo=()
if [[ $(id -u) -ne 0 ]]; then
  if command -v sudo >/dev/null 2>&1 && { sudo -n true 2>/dev/null || [[ -t 0 ]]; }; then
    sudo=(sudo)
  else
    echo "$me: missing Debian packages ${missing[*]} and no rights to install them (not root, no" \
      "usable sudo); as root run: $(command_for "")" >&2
    exit 1
  fi
fi
prefix=${sudo[*]:+sudo }
if ! command -v apt-get >/dev/null 2>&1; then
  echo "$me: missing Debian packages ${missing[*]} and no apt-get on PATH; on Debian/Ubuntu run:" \
    "$(command_for "$prefix")" >&2
  exit 1
fi

echo "$me: installing ${missing[*]}${sudo[*]:+ (through sudo)}"
if ! "${sudo[@]}" apt-get update -qq ||
  ! "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${missing[@]}"; then
  echo "$me: apt-get failed (see above); to retry by hand run: $(command_for "$prefix")" >&2
  exit 1
fi

still=()
for p in "${missing[@]}"; do
  [[ $(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null) == installed ]] || still+=("$p")
done
if ((${#still[@]} > 0)); then
  echo "$me: still missing after apt-get install: ${still[*]}" >&2
  exit 1
fi
echo "$me: installed ${missing[*]}"
