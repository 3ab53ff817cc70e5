#!/usr/bin/env bash
# share and clone by discovery key against the JS @corestore/networker 1.2.1
# (bitspace profile, interop/js/networker/peer.js), inside a network namespace
# (tests/tools/netns-run) with a local DHT bootstrap on 10.77.0.1:
#   - a JS networker writes and announces; `clone` finds it on the DHT;
#   - `share` announces; the JS networker looks it up and reads the chain;
#   - the same by mDNS only (`clone --no-dht` from the JS writer).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/net.sh"
need_js_stack

BOOT=10.77.0.1:49741
"$CLI" bootstrap --host 10.77.0.1 --port 49741 >"$WORK/boot.out" 2>"$WORK/boot.err" &
PIDS+=($!)
wait_line "$WORK/boot.out" "49741" 10 || fail "bootstrap did not start: $(cat "$WORK/boot.err")"

mkfifo "$WORK/js.in"
node "$CHAINSTORE_JS_DIR/networker/peer.js" --profile bitspace --bootstrap "$BOOT" <"$WORK/js.in" >"$WORK/js.out" 2>"$WORK/js.err" &
PIDS+=($!)
exec 3>"$WORK/js.in"
wait_line "$WORK/js.out" '"ev":"ready"' 20 || fail "the JS networker did not start: $(cat "$WORK/js.err")"

# JS writes and announces; clone finds it by the DHT.
echo '{"cmd":"create","data":"hello from js"}' >&3
wait_line "$WORK/js.out" '"ev":"created"' 20 || fail "JS create: $(cat "$WORK/js.err")"
KJ=$(sed -n 's/.*"ev":"created","key":"\([0-9a-f]*\)".*/\1/p' "$WORK/js.out" | head -1)
DJ=$(sed -n 's/.*"ev":"created".*"dkey":"\([0-9a-f]*\)".*/\1/p' "$WORK/js.out" | head -1)
echo "{\"cmd\":\"configure\",\"dkey\":\"$DJ\"}" >&3
wait_line "$WORK/js.out" '"ev":"configured"' 30 || fail "JS configure"
timed 0 60 clone "$WORK/b" "$KJ" --bootstrap "$BOOT" --no-lan --json --timeout 5000
grep -Eq '"event":"peer-add",.*"type":"(tcp|utp)"' "$OUT" || fail "clone printed no peer-add"
run 0 cat "$WORK/b" "$KJ"
out_is "hello from js"

# The same through mDNS only (the JS networker announces on the local network too).
timed 0 60 clone "$WORK/m" "$KJ" --no-dht --timeout 5000
run 0 cat "$WORK/m" "$KJ"
out_is "hello from js"

# share announces; the JS networker looks the chain up and reads it.
A=$WORK/a
run 0 init "$A"
run 0 create "$A" --name c
KC=$(cat "$OUT")
printf 'hello from c\n' >"$WORK/c.txt"
run 0 append "$A" "$KC" "$WORK/c.txt"
run 0 info "$A" --json
DC=$(json_get "$OUT" "j.chains[0].discoveryKey")
"$CLI" share "$A" "$KC" --bootstrap "$BOOT" --no-lan --json >"$WORK/s.out" 2>"$WORK/s.err" &
PIDS+=($!)
wait_line "$WORK/s.out" "^listening on port" 20 || fail "share did not start: $(cat "$WORK/s.err")"
echo "{\"cmd\":\"configure\",\"dkey\":\"$DC\",\"announce\":false}" >&3
echo "{\"cmd\":\"get\",\"key\":\"$KC\",\"index\":0}" >&3
wait_line "$WORK/js.out" '"ev":"block","key":"'"$KC"'","index":0,"data":"hello from c"' 60 ||
  fail "the JS networker did not read the shared chain: $(tail -5 "$WORK/js.out")"
wait_line "$WORK/s.out" '"event":"peer-add"' 10 || fail "share printed no peer-add for the JS peer"
exec 3>&-
echo "discovery_js: ok"
