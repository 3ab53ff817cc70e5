#!/usr/bin/env bash
# werror_default.sh SOURCE_DIR: a plain configure (what the README tells a
# user to run) compiles without -Werror, so a compiler newer than ours cannot
# stop the build on a new warning; -DCHAINSTORE_WERROR=ON (run-tests.sh, CI)
# makes warnings errors.
set -euo pipefail
src=$1
tmp=$(mktemp -d "${TMPDIR:-/tmp}/chainstore-werror-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
flags_of() { # flags_of BUILD_DIR: the compile command of one library source
  grep -m1 '"command"' "$1/compile_commands.json"
}
cmake -S "$src" -B "$tmp/plain" -DCMAKE_BUILD_TYPE=Release >/dev/null
if flags_of "$tmp/plain" | grep -q -- '-Werror'; then
  echo "FAIL: a plain Release configure compiles with -Werror:"
  flags_of "$tmp/plain"
  exit 1
fi
flags_of "$tmp/plain" | grep -q -- '-Wall' || { echo "FAIL: no -Wall in a plain build"; exit 1; }
cmake -S "$src" -B "$tmp/strict" -DCMAKE_BUILD_TYPE=Release -DCHAINSTORE_WERROR=ON >/dev/null
flags_of "$tmp/strict" | grep -q -- '-Werror' || { echo "FAIL: CHAINSTORE_WERROR=ON does not add -Werror"; exit 1; }
echo ok
