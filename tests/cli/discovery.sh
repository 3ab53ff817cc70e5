#!/usr/bin/env bash
# share and clone by discovery key (the networker), inside a network
# namespace (tests/tools/netns-run): a local DHT bootstrap on 10.77.0.1,
# never a public node.
#   - through the DHT only (--no-lan): clone finds the share, downloads the
#     chain, prints peer-add as JSON with the share's address and type tcp or
#     utp (the swarm races TCP with holepunch + uTP; either may win);
#     the share prints peer-add and peer-remove;
#   - through mDNS only (--no-dht);
#   - clone --announce seeds: a second clone gets the chain from it alone;
#   - no peer at all: exit 1 "no peer found", within the deadline;
#   - usage errors: --no-dht with --no-lan, discovery options with --listen.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/net.sh"

BOOT=10.77.0.1:49739
"$CLI" bootstrap --host 10.77.0.1 --port 49739 >"$WORK/boot.out" 2>"$WORK/boot.err" &
PIDS+=($!)
wait_line "$WORK/boot.out" "49739" 10 || fail "bootstrap did not start: $(cat "$WORK/boot.err")"

A=$WORK/a
run 0 init "$A"
run 0 create "$A" --name five
K=$(cat "$OUT")
printf '1\n2\n3\n4\n5\n' >"$WORK/five"
run 0 append "$A" "$K" "$WORK/five"

# Usage errors.
run 2 share "$A" --no-dht --no-lan
run 2 share "$A" --listen 127.0.0.1:0 --no-lan
run 2 clone "$WORK/x" "$K" --connect 127.0.0.1:1 --bootstrap "$BOOT"
run 2 clone "$WORK/x" "$K" --bootstrap not-an-address

# DHT only.
"$CLI" share "$A" "$K" --bootstrap "$BOOT" --no-lan --json >"$WORK/s.out" 2>"$WORK/s.err" &
SP=$!
PIDS+=($SP)
wait_line "$WORK/s.out" "^listening on port" 20 || fail "share did not start: $(cat "$WORK/s.err")"
SPORT=$(sed -n 's/^listening on port //p' "$WORK/s.out")
timed 0 60 clone "$WORK/b" "$K" --bootstrap "$BOOT" --no-lan --json --timeout 5000
grep -Eq "\"event\":\"peer-add\",\"remotePublicKey\":\"[0-9a-f]{64}\",\"remoteAddress\":\"[0-9.]*:$SPORT\",\"type\":\"(tcp|utp)\"" "$OUT" ||
  fail "no peer-add line naming the share's port $SPORT"
grep -q '"event":"done"' "$OUT" || fail "no done line"
run 0 cat "$WORK/b" "$K"
out_is 12345
wait_line "$WORK/s.out" '"event":"peer-add"' 10 || fail "share printed no peer-add"
wait_line "$WORK/s.out" '"event":"peer-remove"' 10 || fail "share printed no peer-remove"

# clone --announce seeds: the second clone finds only it once the share is gone.
"$CLI" clone "$WORK/c" "$K" --bootstrap "$BOOT" --no-lan --announce --timeout 5000 >"$WORK/c.out" 2>"$WORK/c.err" &
CP=$!
PIDS+=($CP)
wait_line "$WORK/c.out" "^cloned $K" 60 || fail "the seeding clone did not finish: $(cat "$WORK/c.err")"
kill -TERM $SP
wait $SP || fail "share did not stop cleanly on SIGTERM"
timed 0 60 clone "$WORK/d" "$K" --bootstrap "$BOOT" --no-lan --timeout 5000
out_has "cloned $K: 5 blocks"
kill -TERM $CP
wait $CP || fail "the seeding clone did not stop cleanly on SIGTERM"

# Nobody announces this one.
run 0 create "$A" --name lonely
KL=$(cat "$OUT")
timed 1 60 clone "$WORK/e" "$KL" --bootstrap "$BOOT" --no-lan --timeout 3000
err_has "no peer found for chain $KL"

# mDNS only (multicast stays inside the namespace).
"$CLI" share "$A" "$K" --no-dht >"$WORK/m.out" 2>"$WORK/m.err" &
PIDS+=($!)
wait_line "$WORK/m.out" "^listening on port" 20 || fail "share --no-dht did not start: $(cat "$WORK/m.err")"
timed 0 60 clone "$WORK/f" "$K" --no-dht --timeout 5000
run 0 cat "$WORK/f" "$K"
out_is 12345
echo "discovery: ok"
