#!/usr/bin/env bash
# share -> clone over uTP, C to C (inside a network namespace:
# tests/tools/netns-run): `share --listen` serves TCP and uTP on one port
# number; `clone --transport utp` downloads 8 MiB (2048 blocks of 4 KiB) and
# the blocks are the same as the source's, byte for byte; a second clone
# over TCP from the same share still works; nobody listening over uTP ends
# the clone with exit 1; the share closes in order on SIGTERM.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/net.sh"

A=$WORK/a
run 0 init "$A"
run 0 create "$A" --name big
K=$(cat "$OUT")
head -c $((8 << 20)) /dev/urandom >"$WORK/data"
run 0 append "$A" "$K" "$WORK/data" --block-size 4096 --no-sync
out_is 2048

start_share a "$A"
PA=$LAST_ADDR
timed 0 60 clone "$WORK/b" "$K" --connect "$PA" --transport utp --no-sync
"$CLI" cat "$WORK/b" "$K" >"$WORK/back" || fail "cat of the clone failed"
cmp -s "$WORK/data" "$WORK/back" || fail "the blocks cloned over uTP differ"
grep -q "a peer connected" "$WORK/a.err" || fail "the share saw no uTP peer"

timed 0 60 clone "$WORK/c" "$K" --connect "$PA" --transport tcp --no-sync
"$CLI" cat "$WORK/c" "$K" | cmp -s "$WORK/data" - || fail "the blocks cloned over TCP differ"

timed 2 5 clone "$WORK/d" "$K" --connect "$PA" --transport sctp

kill -TERM "$LAST_PID"
wait "$LAST_PID" || fail "share exited $? on SIGTERM"

# Nobody listening: the uTP connect fails (refused or timed out).
timed 1 60 clone "$WORK/e" "$K" --connect "$PA" --transport utp --timeout 3000
echo "ok"
