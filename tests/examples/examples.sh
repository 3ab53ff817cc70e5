#!/usr/bin/env bash
# The examples run (inside a network namespace: tests/tools/netns-run), each
# with a local DHT bootstrap on 10.77.0.1, never a public node:
#   example_seed announces, leaves and closes;
#   two example_chat in one room each hear the other's line.
. "$(dirname "$0")/../cli/lib.sh"
. "$(dirname "$0")/../cli/net.sh"
EX=${CHAINSTORE_EXAMPLES:?CHAINSTORE_EXAMPLES is not set (run through ctest)}

BOOT=10.77.0.1:49740
"$CLI" bootstrap --host 10.77.0.1 --port 49740 >"$WORK/boot.out" 2>"$WORK/boot.err" &
PIDS+=($!)
wait_line "$WORK/boot.out" "49740" 10 || fail "bootstrap did not start: $(cat "$WORK/boot.err")"

timeout -s KILL 60 "$EX/example_seed" "$BOOT" >"$OUT" 2>"$ERR" || fail "example_seed failed"
[ "$(cat "$OUT")" = "$(printf 'announced: ok\nleft: ok\nclosed')" ] || fail "example_seed said '$(cat "$OUT")'"

timeout -s KILL 60 "$EX/example_chat" "$BOOT" lobby alice --say "hi from alice" --until 1 \
  >"$WORK/a.out" 2>"$WORK/a.err" </dev/null &
A=$!
# Bob looks up once alice's announce is done (a topic's next DHT pass is minutes away).
wait_line "$WORK/a.err" "in the room" 30 || fail "alice did not join: $(cat "$WORK/a.err")"
timeout -s KILL 60 "$EX/example_chat" "$BOOT" lobby bob --say "hi from bob" --until 1 \
  >"$WORK/b.out" 2>"$WORK/b.err" </dev/null || fail "bob's chat failed: $(cat "$WORK/b.err")"
wait $A || fail "alice's chat failed: $(cat "$WORK/a.err")"
grep -qx "bob: hi from bob" "$WORK/a.out" || fail "alice did not hear bob: $(cat "$WORK/a.out")"
grep -qx "alice: hi from alice" "$WORK/b.out" || fail "bob did not hear alice: $(cat "$WORK/b.out")"
echo "examples: ok"
