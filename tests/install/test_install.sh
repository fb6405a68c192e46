#!/usr/bin/env bash
# test_install.sh — installs the already-built tree into a temporary prefix and uses it as another
# project would: the installed CLI runs without LD_LIBRARY_PATH, a scratch program (app.c) builds and
# runs against the installed tree through pkg-config (shared and static) and through CMake's
# find_package (npugen::npugen, npugen::npugen_static), and a scratch project builds npugen through
# add_subdirectory(SOURCE_DIR). Also checks that the man page and bash completion know every command.
#   test_install.sh BUILD_DIR SOURCE_DIR SHARED_DIR C_COMPILER [SANITIZER_FLAGS]
set -euo pipefail
build=$1 src=$2 shared=$3 cc=$4 san=${5-}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
unset LD_LIBRARY_PATH
fails=0
ok() { echo "ok   $*"; }
fail() { echo "FAIL $*" >&2; fails=$((fails + 1)); }
tokdir=$shared/tokenizers/gpt2
version=$(sed -n 's/^#define NPG_VERSION_STRING "\([0-9.]*\)".*/\1/p' "$src/include/npugen.h")
major=${version%%.*}
expect="npugen $version ($version): 15496 995 -> Hello world"
# run_app DESCRIPTION PROGRAM: the program's output is the expected line
run_app() {
  local out
  if out=$("$2" "$tokdir" 2>&1) && [[ $out == "$expect" ]]; then ok "$1"; else fail "$1: got '$out', want '$expect'"; fi
}

prefix=$tmp/prefix
cmake --install "$build" --prefix "$prefix" >"$tmp/install.log"
pc=$(find "$prefix" -name npugen.pc)
libdir=$(dirname "$(dirname "$pc")")
for f in "bin/npugen" "include/npugen.h" "include/npugen/llm.h" "include/npugen/vlm.h" "share/man/man1/npugen.1" "share/bash-completion/completions/npugen" \
  "${libdir#"$prefix"/}/libnpugen.a" "${libdir#"$prefix"/}/libnpugen.so.$version" \
  "${libdir#"$prefix"/}/cmake/npugen/npugenConfig.cmake" "${libdir#"$prefix"/}/cmake/npugen/npugenConfigVersion.cmake"; do
  if [[ -f $prefix/$f ]]; then ok "installed $f"; else fail "not installed: $f"; fi
done
if [[ $(readlink "$libdir/libnpugen.so") == "libnpugen.so.$major" && $(readlink "$libdir/libnpugen.so.$major") == "libnpugen.so.$version" ]] &&
  readelf -d "$libdir/libnpugen.so.$version" | grep -q "SONAME.*\[libnpugen.so.$major\]"; then
  ok "SONAME libnpugen.so.$major, links to libnpugen.so.$version"
else
  fail "libnpugen.so links or SONAME"
fi

# The installed CLI: its version, and a real generation.
out=$("$prefix/bin/npugen" --version 2>&1) || true
if [[ $out == "npugen $version" ]]; then ok "installed npugen --version"; else fail "installed npugen --version: '$out'"; fi
if out=$("$prefix/bin/npugen" generate "$shared/models/stories260K" -p "Once upon a time" -n 8 2>&1) && [[ -n $out ]]; then
  ok "installed npugen generate: $out"
else
  fail "installed npugen generate: $out"
fi
if readelf -d "$prefix/bin/npugen" | grep -q "R.*PATH.*$build"; then fail "installed npugen keeps an RPATH into the build tree"; fi

# Man page and completion name every command of tools/main.c.
commands=$(sed -n 's/^ *{"\([a-z-]*\)", ".*npg_cmd_.*/\1/p' "$src/tools/main.c")
[[ -n $commands ]] || fail "no commands found in tools/main.c"
for c in $commands; do
  grep -qE "^\.BI? \"$c " "$src/docs/npugen.1" || fail "docs/npugen.1 has no section for '$c'"
  grep -q "local commands=\".*\b$c\b" "$src/scripts/npugen-completion.bash" || fail "the bash completion does not know '$c'"
done
ok "man page and completion cover: $(echo $commands)"
if command -v groff >/dev/null; then
  if groff -man -ww -z "$prefix/share/man/man1/npugen.1" 2>"$tmp/groff.err" && [[ ! -s $tmp/groff.err ]]; then
    ok "man page formats without warnings"
  else fail "groff: $(cat "$tmp/groff.err")"; fi
fi
if out=$(bash -c "source '$prefix/share/bash-completion/completions/npugen'
  COMP_WORDS=(npugen ge); COMP_CWORD=1; _npugen; echo \"\${COMPREPLY[*]}\"
  COMP_WORDS=(npugen generate --dev); COMP_CWORD=2; _npugen; echo \"\${COMPREPLY[*]}\"
  COMP_WORDS=(npugen generate --device ''); COMP_CWORD=3; _npugen; echo \"\${COMPREPLY[*]}\"" 2>&1) &&
  [[ $out == $'generate\n--device\nCPU NPU' ]]; then
  ok "bash completion: commands, options, devices"
else
  fail "bash completion: got '$out'"
fi

# pkg-config: shared (an rpath instead of LD_LIBRARY_PATH) and static (the archive in place of -lnpugen,
# the dependencies from Requires.private / Libs.private).
export PKG_CONFIG_PATH=$libdir/pkgconfig
pcver=$(pkg-config --modversion npugen)
[[ $pcver == "$version" ]] && ok "pkg-config --modversion $pcver" || fail "pkg-config --modversion: $pcver"
pclibdir=$(pkg-config --variable=libdir npugen)
# shellcheck disable=SC2046
"$cc" $san "$src/tests/install/app.c" -o "$tmp/app_pc_shared" $(pkg-config --cflags --libs npugen) -Wl,-rpath,"$pclibdir"
readelf -d "$tmp/app_pc_shared" | grep -q "NEEDED.*libnpugen.so.$major" || fail "app_pc_shared does not link libnpugen.so.$major"
run_app "pkg-config, shared library" "$tmp/app_pc_shared"
# npugen's archive with its Requires.private modules linked as the system's shared libraries (the
# usual static link; `--static` would ask for every transitive static archive, e.g. libcurl's
# nghttp2/ssh2/ldap, which Debian's -dev packages do not ship).
static_libs="$pclibdir/libnpugen.a $(pkg-config --libs $(pkg-config --print-requires-private npugen | cut -d' ' -f1)) -pthread -lm"
# shellcheck disable=SC2086
"$cc" $san "$src/tests/install/app.c" -o "$tmp/app_pc_static" $(pkg-config --cflags npugen) $static_libs
if readelf -d "$tmp/app_pc_static" | grep -q "NEEDED.*libnpugen"; then fail "app_pc_static links libnpugen.so"; fi
run_app "pkg-config, static library" "$tmp/app_pc_static"

# CMake: find_package(npugen) with a version; a newer major is refused by the version file.
mkdir -p "$tmp/cmake-app"
cat >"$tmp/cmake-app/CMakeLists.txt" <<CMAKE
cmake_minimum_required(VERSION 3.18)
project(scratch C)
find_package(npugen $((major + 1)) QUIET)
if(npugen_FOUND)
  message(FATAL_ERROR "find_package(npugen $((major + 1))) accepted version \${npugen_VERSION}")
endif()
find_package(npugen $version REQUIRED)
add_executable(app_shared $src/tests/install/app.c)
target_link_libraries(app_shared PRIVATE npugen::npugen)
add_executable(app_static $src/tests/install/app.c)
target_link_libraries(app_static PRIVATE npugen::npugen_static)
CMAKE
cmake -S "$tmp/cmake-app" -B "$tmp/cmake-app/build" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_C_COMPILER="$cc" \
  -DCMAKE_C_FLAGS="$san" >"$tmp/cmake-app.log" 2>&1 || { cat "$tmp/cmake-app.log"; fail "find_package(npugen) project: configure"; }
cmake --build "$tmp/cmake-app/build" >>"$tmp/cmake-app.log" 2>&1 || { cat "$tmp/cmake-app.log"; fail "find_package(npugen) project: build"; }
run_app "CMake find_package, npugen::npugen" "$tmp/cmake-app/build/app_shared"
run_app "CMake find_package, npugen::npugen_static" "$tmp/cmake-app/build/app_static"

# add_subdirectory(SOURCE_DIR): builds (no build type: -O0 without -g, quickest to compile) with no
# tests and no install rules.
mkdir -p "$tmp/subdir-app"
cat >"$tmp/subdir-app/CMakeLists.txt" <<CMAKE
cmake_minimum_required(VERSION 3.18)
project(scratch C)
add_subdirectory($src npugen)
add_executable(app $src/tests/install/app.c)
target_link_libraries(app PRIVATE npugen::npugen)
CMAKE
jobs=$(nproc 2>/dev/null || echo 2)
cmake -S "$tmp/subdir-app" -B "$tmp/subdir-app/build" -DCMAKE_BUILD_TYPE= -DCMAKE_C_COMPILER="$cc" \
  -DNPG_SHARED_DIR="$shared" >"$tmp/subdir-app.log" 2>&1 || { cat "$tmp/subdir-app.log"; fail "add_subdirectory project: configure"; }
if cmake --build "$tmp/subdir-app/build" --target help | grep -q "test_core"; then fail "add_subdirectory builds the tests"; fi
cmake --build "$tmp/subdir-app/build" --target app -j "$jobs" >>"$tmp/subdir-app.log" 2>&1 ||
  { tail -30 "$tmp/subdir-app.log"; fail "add_subdirectory project: build"; }
run_app "add_subdirectory, npugen::npugen" "$tmp/subdir-app/build/app"
cmake --install "$tmp/subdir-app/build" --prefix "$tmp/subdir-prefix" >/dev/null
if [[ -e $tmp/subdir-prefix ]]; then fail "add_subdirectory installs npugen's files: $(find "$tmp/subdir-prefix" -type f | head -3)"; fi

if ((fails)); then
  echo "$fails checks failed" >&2
  exit 1
fi
echo "all checks passed"
