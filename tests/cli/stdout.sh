#!/usr/bin/env bash
# What a command prints must reach standard output: a full device or a
# closed pipe fails the command (exit 1) with a message, never exit 0 with
# the output lost (`create > /dev/full` would lose the new chain's key).
. "$(dirname "$0")/lib.sh"
[ -w /dev/full ] || { echo "SKIP: no /dev/full"; exit 77; }

D=$WORK/store
run 0 init "$D"
run 0 create "$D" --name a
K=$(cat "$OUT")
printf 'one\ntwo\n' >"$WORK/in"

full() { # full ARGS...: exit 1 and a message when stdout is /dev/full
  local got=0
  "$CLI" "$@" >/dev/full 2>"$ERR" || got=$?
  [ "$got" = 1 ] || fail "chainstore $* > /dev/full exited $got, expected 1"
  err_has "standard output"
}
full create "$D" --name b
full create "$D"
full init "$WORK/other"
full append "$D" "$K" "$WORK/in"
full cat "$D" "$K"
full info "$D"
full info "$D" --json
full verify "$D"
full version
full --help
full create --help
# share cannot say where it listens: it stops at once (in a network
# namespace when root; elsewhere it would bind the host's 127.0.0.1).
if [ "$(id -u)" = 0 ]; then
  got=0
  timeout -s KILL 20 "$(dirname "$0")/../tools/netns-run" "$CLI" share "$D" --listen 127.0.0.1:0 >/dev/full 2>"$ERR" ||
    got=$?
  [ "$got" = 1 ] || fail "share > /dev/full exited $got, expected 1"
  err_has "standard output"
fi
# A usage error keeps its own code.
got=0
"$CLI" create >/dev/full 2>"$ERR" || got=$?
[ "$got" = 2 ] || fail "a usage error with a full stdout exited $got, expected 2"
echo ok
