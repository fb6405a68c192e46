#!/usr/bin/env bash
# test_install_deps.sh — scripts/install-deps.sh against stand-ins for dpkg-query, apt-get, sudo and
# id on a PATH of their own, so every branch (present, install as root, install through sudo, no
# rights, no apt-get, apt-get failing) runs without touching the machine's packages.
#   test_install_deps.sh SOURCE_DIR
set -uo pipefail
src=${1:?usage: test_install_deps.sh SOURCE_DIR}
script=$src/scripts/install-deps.sh
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
check() { # check DESCRIPTION CONDITION...
  local what=$1
  shift
  if "$@"; then echo "ok   $what"; else echo "FAIL $what" >&2; fails=$((fails + 1)); fi
}
contains() { [[ $1 == *"$2"* ]]; }
lines() { local n=0; [[ -n $1 ]] && n=$(printf '%s\n' "$1" | wc -l); echo "$n"; }

bin=$tmp/bin
mkdir -p "$bin"
for c in bash dirname env; do ln -s "$(command -v "$c")" "$bin/$c"; done
# dpkg-query -W -f=FORMAT PKG...: a package is installed when its name is a line of $STATE.
cat >"$bin/dpkg-query" <<'STUB'
#!/usr/bin/env bash
fmt=${2#-f=}; shift 2; rc=0
for p in "$@"; do
  found=0
  while IFS= read -r l; do [[ $l == "$p" ]] && found=1; done <"$STATE"
  if ((found)); then
    if [[ $fmt == *'${Package}'* ]]; then printf '%s installed\n' "$p"; else printf installed; fi
  else echo "dpkg-query: no packages found matching $p" >&2; rc=1; fi
done
exit $rc
STUB
# apt-get: logs its arguments; `install` adds the packages to $STATE unless APT_FAIL=1.
cat >"$bin/apt-get" <<'STUB'
#!/usr/bin/env bash
echo "${VIA_SUDO:+sudo }apt-get $*" >>"$LOG"
[[ ${APT_FAIL-} == 1 ]] && exit 100
if [[ $1 == install ]]; then for a in "$@"; do [[ $a == -* || $a == install ]] || echo "$a" >>"$STATE"; done; fi
exit 0
STUB
cat >"$bin/id" <<'STUB'
#!/usr/bin/env bash
echo "$FAKE_UID"
STUB
# sudo: `sudo -n true` answers SUDO_OK; otherwise runs the command marked as through sudo.
cat >"$bin/sudo.stub" <<'STUB'
#!/usr/bin/env bash
if [[ $1 == -n ]]; then [[ ${SUDO_OK-} == 1 ]]; exit; fi
VIA_SUDO=1 exec "$@"
STUB
chmod +x "$bin"/*

# run LIST_CONTENT INSTALLED_CONTENT [VAR=VALUE...]: sets rc, out, err, log
run() {
  printf '%b' "$1" >"$tmp/list"
  printf '%b' "$2" >"$tmp/state"
  : >"$tmp/log"
  shift 2
  out=$(env -i PATH="$bin" STATE="$tmp/state" LOG="$tmp/log" FAKE_UID=0 "$@" \
    bash "$script" "$tmp/list" </dev/null 2>"$tmp/err")
  rc=$?
  err=$(<"$tmp/err")
  log=$(<"$tmp/log")
}

run '# comment\n\ndpkg\n' 'dpkg\n'
check "all present: exit 0" test "$rc" = 0
check "all present: silent" test -z "$out$err"
check "all present: apt-get not run" test -z "$log"

run '# build tools\n  dpkg   # always there\nfoo\n\nbar # two\n' 'dpkg\n'
check "root, missing: exit 0" test "$rc" = 0
check "root, missing: says what it installs" contains "$out" "installing foo bar"
check "root, missing: update then install" test "$log" = $'apt-get update -qq\napt-get install -y -qq --no-install-recommends foo bar'

ln -s sudo.stub "$bin/sudo"
run 'foo\n' '' FAKE_UID=1000 SUDO_OK=1
check "user with sudo: exit 0" test "$rc" = 0
check "user with sudo: apt-get through sudo" test "$log" = $'sudo apt-get update -qq\nsudo apt-get install -y -qq --no-install-recommends foo'
check "user with sudo: says so" contains "$out" "(through sudo)"

run 'foo\n' '' FAKE_UID=1000 SUDO_OK=0
check "user, sudo needs a password, no terminal: exit 1" test "$rc" = 1
check "user, sudo needs a password: one line" test "$(lines "$err")" = 1
check "user, sudo needs a password: the command" contains "$err" "as root run: apt-get update && apt-get install -y --no-install-recommends foo"
check "user, sudo needs a password: nothing run" test -z "$log"

run 'foo\n' '' APT_FAIL=1
check "apt-get fails: exit 1" test "$rc" = 1
check "apt-get fails: the command to retry" contains "$err" "to retry by hand run: apt-get update && apt-get install -y --no-install-recommends foo"

rm "$bin/sudo"
run 'foo\n' '' FAKE_UID=1000
check "user without sudo: exit 1" test "$rc" = 1
check "user without sudo: one line" test "$(lines "$err")" = 1
check "user without sudo: the command" contains "$err" "as root run: apt-get update && apt-get install -y --no-install-recommends foo"

rm "$bin/apt-get"
run 'foo\nbar\n' 'bar\n'
check "no apt-get: exit 1" test "$rc" = 1
check "no apt-get: one line" test "$(lines "$err")" = 1
check "no apt-get: the command, only the missing package" contains "$err" "run: apt-get update && apt-get install -y --no-install-recommends foo"

run 'foo\n' '' NPG_SKIP_DEPS=1
check "NPG_SKIP_DEPS=1: exit 0, silent" test "$rc:$out$err" = "0:"

rm "$bin/dpkg-query"
run 'foo\n' ''
check "no dpkg-query: exit 1" test "$rc" = 1
check "no dpkg-query: names the packages" contains "$err" "foo"

# The real list parses and names real package names only.
pkgs=()
while IFS= read -r l; do l=${l%%#*}; l=${l//[[:space:]]/}; [[ -n $l ]] && pkgs+=("$l"); done <"$src/scripts/debian-packages.txt"
check "debian-packages.txt lists packages" test "${#pkgs[@]}" -gt 0
bad=0
for p in "${pkgs[@]}"; do [[ $p =~ ^[a-z0-9][a-z0-9.+-]+$ ]] || { echo "bad package name: $p" >&2; bad=1; }; done
check "debian-packages.txt: valid Debian names" test "$bad" = 0

if ((fails)); then
  echo "$fails checks failed" >&2
  exit 1
fi
echo "all checks passed"
