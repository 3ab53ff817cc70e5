#!/usr/bin/env bash
# `clone` always ends (inside a network namespace: tests/tools/netns-run):
#   exit 0 "nothing to download" for an empty range (a chain of length 0,
#   --start N --end N, a start past the length);
#   exit 1 "no peer has chain KEY" when every peer refused the chain, closed,
#   or could not be reached, and the profile named when the peer has the
#   chain under the other one. Each within its deadline. --listen and
#   --connect take host names (localhost).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/net.sh"

A=$WORK/a
run 0 init "$A"
run 0 create "$A" --name empty
KE=$(cat "$OUT")
run 0 create "$A" --name five
KF=$(cat "$OUT")
printf '1\n2\n3\n4\n5\n' >"$WORK/five"
run 0 append "$A" "$KF" "$WORK/five"
NOBODY=$(printf 'ab%.0s' $(seq 32)) # a key no store holds
H=$WORK/h
run 0 init "$H" --profile hypercore
run 0 create "$H" --name other
KH=$(cat "$OUT")
run 0 append "$H" "$KH" "$WORK/five"

cp -a "$A" "$WORK/a2" # a store is locked while shared
start_share a "$A"
PA=$LAST_ADDR
start_share h "$H"
PH=$LAST_ADDR

# Empty ranges.
timed 0 20 clone "$WORK/b1" "$KE" --connect "$PA" --timeout 3000
out_has "nothing to download"
timed 0 20 clone "$WORK/b2" "$KF" --connect "$PA" --start 3 --end 3
out_has "nothing to download"
timed 0 20 clone "$WORK/b3" "$KF" --connect "$PA" --start 9 --timeout 3000
out_has "nothing to download: blocks \[9, 9) of $KF (length 5)"
timed 0 20 clone "$WORK/b4" "$KE" --connect "$PA" --json --timeout 3000
grep -q '"done":true' "$OUT" || fail "no last JSON line"
err_has "nothing to download"

# A non-empty range still downloads.
timed 0 20 clone "$WORK/b5" "$KF" --connect "$PA" --start 2
run 0 cat "$WORK/b5" "$KF" --start 2
out_is 345

# Nobody has the chain: refused at once, well before --timeout.
timed 1 10 clone "$WORK/b6" "$NOBODY" --connect "$PA" --timeout 30000
err_has "does not have chain $NOBODY"
err_has "no peer has chain $NOBODY\$"
# A share of only some chains refuses the others.
start_share only "$WORK/a2" "$KF"
timed 1 10 clone "$WORK/b7" "$KE" --connect "$LAST_ADDR" --timeout 30000
err_has "no peer has chain $KE"
# Nobody listening.
kill -TERM "$LAST_PID"
wait "$LAST_PID" || fail "share exited $?"
timed 1 10 clone "$WORK/b8" "$KF" --connect "$LAST_ADDR" --timeout 3000
err_has "no peer has chain $KF"
# One peer without it, one with it: the clone completes.
timed 0 20 clone "$WORK/b9" "$KF" --connect "$PH" --connect "$PA" --timeout 5000
run 0 cat "$WORK/b9" "$KF"
out_is 12345

# The profile named: the peer has the chain as a hypercore chain.
timed 1 10 clone "$WORK/b10" "$KH" --connect "$PH" --timeout 30000
err_has "has chain $KH under network profile hypercore, not bitspace"
err_has "no peer has chain $KH under network profile bitspace; a peer has it under hypercore"
timed 0 20 clone "$WORK/b11" "$KH" --connect "$PH" --profile hypercore
run 0 cat "$WORK/b11" "$KH"
out_is 12345

# Host names are resolved (uv_getaddrinfo): localhost on both sides (the
# only name looked up: no query may leave the machine).
cp -a "$A" "$WORK/a3"
LISTEN=localhost:0 start_share local "$WORK/a3"
port=${LAST_ADDR##*:}
timed 0 20 clone "$WORK/b12" "$KF" --connect "localhost:$port"
run 0 cat "$WORK/b12" "$KF"
out_is 12345
echo ok
