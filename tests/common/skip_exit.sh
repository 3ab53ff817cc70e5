#!/usr/bin/env bash
# skip_exit.sh PROGRAM: a cmocka program whose every selected case skipped
# exits 77 (ctest shows it skipped), a partial skip passes, a failure fails.
set -u
prog=$1
check() {
  local mode=$1 want=$2 got=0
  "$prog" "$mode" >/dev/null 2>&1 || got=$?
  if [ "$got" != "$want" ]; then
    echo "FAIL: skip_selftest $mode exited $got, expected $want"
    exit 1
  fi
}
check all 77
check some 0
check filter 77
check fail 1
echo ok
