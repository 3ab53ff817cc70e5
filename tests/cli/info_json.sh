#!/usr/bin/env bash
# `info --json` is JSON a JS engine parses, with the fields the README
# documents. Its own test so that a machine without node shows it skipped
# (exit 77) rather than passing unchecked inside roundtrip.sh.
. "$(dirname "$0")/lib.sh"
need_node

D=$WORK/store
run 0 init "$D"
run 0 create "$D" --name lines
K=$(cat "$OUT")
printf 'alpha\nbeta\n\ngamma\ndelta\n' >"$WORK/in"
run 0 append "$D" "$K" "$WORK/in"
run 0 create "$D" --name raw
KR=$(cat "$OUT")
head -c 100000 /dev/urandom >"$WORK/raw"
run 0 append "$D" "$KR" "$WORK/raw" --block-size 4096
run 0 create "$D" --name empty

run 0 info "$D" --json
J=$WORK/info.json
cp "$OUT" "$J"
[ "$(json_get "$J" "j.chains.length")" = 3 ] || fail "info --json lists $(json_get "$J" "j.chains.length") chains"
[ "$(json_get "$J" "j.directory")" = "$D" ] || fail "directory"
[ "$(json_get "$J" "j.profile")" = bitspace ] || fail "profile"
[ "$(json_get "$J" "j.chains.filter(c => c.key === '$K')[0].byteLength")" = 19 ] || fail "byteLength"
[ "$(json_get "$J" "j.chains.filter(c => c.key === '$K')[0].length")" = 5 ] || fail "length"
[ "$(json_get "$J" "j.chains.filter(c => c.key === '$KR')[0].length")" = 25 ] || fail "length of the raw chain"
[ "$(json_get "$J" "j.chains.filter(c => c.key === '$K')[0].writable")" = true ] || fail "writable"
[ "$(json_get "$J" "j.chains.filter(c => c.key === '$K')[0].live")" = true ] || fail "live"
[ "$(json_get "$J" "j.chains.every(c => /^[0-9a-f]{64}\$/.test(c.discoveryKey) && /^[0-9a-f]{64}\$/.test(c.key))")" = true ] ||
  fail "keys are not 64 hex digits"
sorted=$(json_get "$J" "j.chains.map(c => c.discoveryKey).every((d, i, a) => i === 0 || a[i - 1] < d)")
[ "$sorted" = true ] || fail "chains are not in discovery-key order"
echo "ok"
