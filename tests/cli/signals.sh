#!/usr/bin/env bash
# SIGINT/SIGTERM (in a network namespace: tests/tools/netns-run): the first
# starts an orderly close, a second during it is ignored with a message, a
# third stops at once (128 + signal); `demo` removes its temporary directory
# when interrupted. Signals are queued while the process is stopped
# (SIGSTOP), so that two arrive together whatever the scheduling.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/net.sh"

# wait_exit PID SECONDS: the exit code (124 when it did not exit in time).
wait_exit() {
  local deadline=$((SECONDS + $2))
  while kill -0 "$1" 2>/dev/null; do
    [ $SECONDS -lt $deadline ] || return 124
    sleep 0.05
  done
  local rc=0
  wait "$1" || rc=$?
  return $rc
}

A=$WORK/a
run 0 init "$A"
run 0 create "$A" --name big
K=$(cat "$OUT")
# 64 blocks of 1 MiB: more than the socket buffers hold.
head -c $((64 * 1024 * 1024)) /dev/zero | "$CLI" append "$A" "$K" --block-size 1048576 >"$OUT" 2>"$ERR" ||
  fail "append failed"

# 1. Two signals at once: the share closes in order and exits 0.
start_share s1 "$A"
S=$LAST_PID
kill -STOP "$S"
kill -TERM "$S"
kill -INT "$S"
kill -CONT "$S"
rc=0; wait_exit "$S" 20 || rc=$?
[ $rc = 0 ] || fail "share exited $rc after SIGTERM + SIGINT"
# (pending signals arrive in signal-number order: SIGINT first)
grep -q "SIGINT, closing" "$WORK/s1.err" || fail "no 'closing' message: $(cat "$WORK/s1.err")"
grep -q "SIGTERM again: still closing" "$WORK/s1.err" || fail "the second signal was not reported"
grep -q "^stopped: " "$WORK/s1.out" || fail "share did not finish its close"

# 2. A close that cannot finish (a peer that stopped reading with 60 MiB of
# answers queued) is cut short by the third signal.
start_share s2 "$A" --timeout 60000
S=$LAST_PID
"$CLI" clone "$WORK/b" "$K" --connect "$LAST_ADDR" --timeout 60000 >"$WORK/c.out" 2>"$WORK/c.err" &
CL=$!
PIDS+=("$CL")
deadline=$((SECONDS + 30))
until [ -n "$(find "$WORK/b" -name data -size +0 2>/dev/null)" ]; do
  [ $SECONDS -lt $deadline ] || fail "the clone received nothing"
  sleep 0.05
done
kill -STOP "$CL"
kill -TERM "$S"
wait_line "$WORK/s2.err" "SIGTERM, closing" 10 || fail "no 'closing' message"
kill -INT "$S"
wait_line "$WORK/s2.err" "SIGINT again: still closing" 10 || fail "the second signal was not reported"
kill -0 "$S" 2>/dev/null || fail "the share exited on the second signal"
kill -TERM "$S"
rc=0; wait_exit "$S" 10 || rc=$?
[ $rc = 143 ] || fail "share exited $rc on the third signal, expected 143"
grep -q "SIGTERM a third time: stopping at once" "$WORK/s2.err" || fail "no message on the third signal"
kill -KILL "$CL"

# 3. demo interrupted: exit 1, its directory removed.
mkdir "$WORK/tmp"
for sigs in "TERM" "INT TERM"; do
  # The last run's output must not pass for this one's start: a signal sent
  # before the new process exec'd hits the shell's child instead.
  rm -f "$WORK/d.out" "$WORK/d.err"
  TMPDIR=$WORK/tmp "$CLI" demo --mib 256 --block-size 65536 >"$WORK/d.out" 2>"$WORK/d.err" &
  D=$!
  PIDS+=("$D")
  wait_line "$WORK/d.out" "^chainstore demo: " 20 || fail "demo did not start"
  kill -STOP "$D"
  for sig in $sigs; do kill -"$sig" "$D"; done
  kill -CONT "$D"
  rc=0; wait_exit "$D" 60 || rc=$?
  [ $rc = 1 ] || fail "demo exited $rc after SIG $sigs, expected 1"
  first=${sigs%% *}
  grep -q "SIG$first, stopping" "$WORK/d.err" || fail "demo did not report SIG$first: $(cat "$WORK/d.err")"
  [ "$sigs" = TERM ] || grep -q "SIGTERM again: still closing" "$WORK/d.err" ||
    fail "demo did not report the second signal"
  grep -q "^demo interrupted" "$WORK/d.out" || fail "demo did not say it was interrupted"
  [ -z "$(ls -A "$WORK/tmp")" ] || fail "demo left $(ls "$WORK/tmp") behind after SIG $sigs"
done
echo ok
