#!/usr/bin/env bash
# A fork on the command line (issue 14): two stores with one key pair (the
# same master_key and chain name) and different blocks at index 5, each
# shared, seeded to one clone in both orders. The clone refuses the second
# history with a message giving both lengths, and keeps the first intact
# (verify, cat against the first's bytes). Run through tests/tools/netns-run
# (a fresh network namespace; exit 77 without root).
. "$(dirname "$0")/lib.sh"

A=$WORK/a
B=$WORK/b
run 0 create "$A" --name forked --no-sync
K=$(cat "$OUT")
mkdir -p "$B"
cp "$A/master_key" "$B/master_key"
[ ! -e "$A/profile" ] || cp "$A/profile" "$B/profile"
run 0 create "$B" --name forked --no-sync
out_is "$K"

for i in $(seq 0 9); do echo "block $i"; done >"$WORK/a.txt"
for i in $(seq 0 19); do if [ "$i" = 5 ]; then echo "other 5"; else echo "block $i"; fi; done >"$WORK/b.txt"
run_in 0 "$WORK/a.txt" append "$A" "$K" --no-sync
run_in 0 "$WORK/b.txt" append "$B" "$K" --no-sync
# What cat gives: the lines without their newlines.
tr -d '\n' <"$WORK/a.txt" >"$WORK/a.bytes"
tr -d '\n' <"$WORK/b.txt" >"$WORK/b.bytes"

SHARE=
start_share() {
  : >"$WORK/share.out"
  "$CLI" share "$1" --listen 127.0.0.1:0 >"$WORK/share.out" 2>"$WORK/share.err" &
  SHARE=$!
  local deadline=$((SECONDS + 20))
  until grep -q "listening on [0-9.]*:[0-9][0-9]*" "$WORK/share.out"; do
    kill -0 "$SHARE" 2>/dev/null || fail "share $1 exited: $(cat "$WORK/share.err")"
    [ $SECONDS -lt $deadline ] || fail "share $1 did not start"
    sleep 0.02
  done
  PEER=$(sed -n 's/.*listening on \([0-9.]*:[0-9]*\).*/\1/p' "$WORK/share.out" | head -1)
}
stop_share() {
  [ -n "$SHARE" ] || return 0
  kill -TERM "$SHARE" 2>/dev/null || true
  local code=0
  wait "$SHARE" 2>/dev/null || code=$?
  SHARE=
  ! grep -q "Sanitizer\|runtime error" "$WORK/share.err" || fail "share: sanitizer report"
  [ "$code" -lt 128 ] || [ "$code" = 143 ] || fail "share killed by signal $((code - 128))"
}
trap 'stop_share; rm -rf "$WORK"' EXIT

# clone_fork FIRST FIRST_BYTES FIRST_START SECOND HERE CLAIMED: the clone holds
# FIRST from block FIRST_START on, then refuses SECOND.
clone_fork() {
  local first=$1 bytes=$2 from=$3 second=$4 here=$5 claimed=$6
  local C=$WORK/clone-$(basename "$first")
  rm -rf "$C"
  start_share "$first"
  run 0 clone "$C" "$K" --connect "$PEER" --start "$from" --no-sync --timeout 5000
  stop_share
  run 0 verify "$C" "$K"
  run 0 cat "$C" "$K" --start "$from"
  cat "$OUT" >"$WORK/before"

  start_share "$second"
  run 1 clone "$C" "$K" --connect "$PEER" --no-sync --timeout 5000
  stop_share
  err_starts
  err_has "refused a fork"
  grep -q "length $here here, ${claimed:-[0-9]*} claimed" "$ERR" || fail "no lengths: want $here here, ${claimed:-?} claimed"
  ! grep -q "Sanitizer\|runtime error" "$ERR" || fail "clone: sanitizer report"

  # The first history is intact and nothing of the second was stored.
  run 0 verify "$C" "$K"
  run 0 cat "$C" "$K" --start "$from"
  same_file "$OUT" "$WORK/before"
  run 0 info "$C"
  out_has "$here"
}

# The shorter first, whole: the second's path to its roots passes beside
# the stored roots (its whole proof brings its versions of them).
clone_fork "$A" "$WORK/a.bytes" 0 "$B" 10 20
head -c "$(stat -c %s "$WORK/before")" "$WORK/a.bytes" | cmp -s - "$WORK/before" || fail "clone of a: wrong bytes"
# The longer first, from block 10 on: the shorter's blocks 0..9 end at the
# stored nodes, which they contradict (claimed: what the proof reaches).
clone_fork "$B" "$WORK/b.bytes" 10 "$A" 20 ""
echo "ok: fork refused in both orders"
