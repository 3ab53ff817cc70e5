#!/bin/bash
# The DHT commands of the `chainstore` program, run inside a fresh network
# namespace (tests/tools/netns-run) on 127.0.0.1: a bootstrap node, an
# announcer and lookups; clean stops on SIGINT/SIGTERM; --help and bad
# arguments. Waits on output lines with deadlines, never on fixed sleeps.
set -u
CLI=${CHAINSTORE_CLI:?}
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; done
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; for f in "$work"/*.out; do echo "--- $f"; cat "$f"; done; exit 1; }

# wait_for FILE REGEX SECONDS
wait_for() {
  local deadline=$((SECONDS + $3))
  while ! grep -qE "$2" "$1" 2>/dev/null; do
    [ $SECONDS -ge $deadline ] && return 1
    sleep 0.05
  done
}
# wait_exit PID SECONDS -> exit code (or 124 on timeout)
wait_exit() {
  local deadline=$((SECONDS + $2))
  while kill -0 "$1" 2>/dev/null; do
    if [ $SECONDS -ge $deadline ]; then return 124; fi
    sleep 0.05
  done
  wait "$1"
}

topic=$(printf 'ab%.0s' $(seq 32))
other=$(printf 'cd%.0s' $(seq 32))

# --help and usage errors
for c in bootstrap dht-lookup dht-announce; do
  "$CLI" $c --help | grep -q "^usage: chainstore $c" || fail "$c --help"
done
"$CLI" dht-lookup nothex --bootstrap 127.0.0.1:1 >/dev/null 2>&1; [ $? -eq 2 ] || fail "bad topic must exit 2"
"$CLI" dht-announce "$topic" --bootstrap 127.0.0.1:1 >/dev/null 2>&1; [ $? -eq 2 ] || fail "missing --port must exit 2"
"$CLI" bootstrap --port 70000 >/dev/null 2>&1; [ $? -eq 2 ] || fail "bad port must exit 2"

"$CLI" bootstrap --port 49737 --host 127.0.0.1 --log-interval 1 > "$work/bs.out" 2>&1 &
bs=$!; pids+=($bs)
wait_for "$work/bs.out" "listening on 127.0.0.1:49737" 5 || fail "bootstrap did not start"
wait_for "$work/bs.out" "status: routing table 0 nodes, 0 peer records" 5 || fail "no status line"

"$CLI" dht-announce "$topic" --port 4000 --bootstrap 127.0.0.1:49737 --refresh 1 > "$work/ann.out" 2>&1 &
ann=$!; pids+=($ann)
wait_for "$work/ann.out" "^announced $topic port 4000" 10 || fail "no announce"
wait_for "$work/bs.out" "status: routing table 0 nodes, [1-9][0-9]* peer records" 5 || fail "bootstrap holds no record"
# refreshed every second (--refresh 1)
deadline=$((SECONDS + 10))
while [ "$(grep -c '^announced' "$work/ann.out")" -lt 2 ]; do
  [ $SECONDS -ge $deadline ] && fail "no second announce"
  sleep 0.05
done

"$CLI" dht-lookup "$topic" --bootstrap 127.0.0.1:49737 > "$work/l1.out" 2>&1 || fail "lookup failed"
grep -qx "127.0.0.1:4000" "$work/l1.out" || fail "lookup did not print the announcer"
[ "$(wc -l < "$work/l1.out")" -eq 1 ] || fail "lookup printed more than the peer"
"$CLI" dht-lookup "$other" --bootstrap 127.0.0.1:49737 > "$work/l2.out" 2>&1 || fail "lookup of another topic failed"
[ ! -s "$work/l2.out" ] || fail "another topic has peers"

kill -TERM $ann
wait_exit $ann 25; rc=$?
[ $rc -eq 0 ] || fail "dht-announce exit $rc on SIGTERM"
grep -q "^unannounced $topic" "$work/ann.out" || fail "no unannounce line"
"$CLI" dht-lookup "$topic" --bootstrap 127.0.0.1:49737 > "$work/l3.out" 2>&1 || fail "lookup 3 failed"
[ ! -s "$work/l3.out" ] || fail "the announcer is still found after unannounce"

# a lookup with no DHT answering fails with exit 1
"$CLI" dht-lookup "$topic" --bootstrap 127.0.0.1:9 > "$work/l4.out" 2>&1; rc=$?
[ $rc -eq 1 ] || fail "lookup with nobody must exit 1 (got $rc)"
grep -q "No nodes responded" "$work/l4.out" || fail "no 'No nodes responded'"

kill -INT $bs
wait_exit $bs 10; rc=$?
[ $rc -eq 0 ] || fail "bootstrap exit $rc on SIGINT"
grep -q "SIGINT, stopping" "$work/bs.out" || fail "bootstrap did not log the stop"
grep -q "^stopped" "$work/bs.out" || fail "bootstrap did not stop cleanly"
echo "PASS"
