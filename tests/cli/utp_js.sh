#!/usr/bin/env bash
# BitProtocol replication over uTP between the C CLI and the legacy JS stack
# (corestore 5 + hypercore 9 replicating over a utp-native 2.5.3 socket,
# interop/js/repl/peer.js, bitspace profile), in both roles, inside a network
# namespace (tests/tools/netns-run):
#   JS listens (uTP), `chainstore clone --transport utp` downloads its chain;
#   `chainstore share` listens, the JS connects over uTP and downloads ours.
# The blocks are compared by SHA-256 over the whole chain.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/net.sh"
need_js_stack
JS=$CHAINSTORE_JS_DIR
BLOCKS=${UTP_JS_BLOCKS:-1024}

# js_event FILE EVENT: the first line of FILE with that event (waits 60 s).
js_event() {
  wait_line "$1" "\"event\":\"$2\"" 60 || fail "no $2 event from the JS peer: $(cat "$1" "$1.err" 2>/dev/null)"
  grep -m1 "\"event\":\"$2\"" "$1"
}

# 1. C initiator (clone), JS responder.
mkfifo "$WORK/in1"
node "$JS/repl/peer.js" "{\"profile\":\"bitspace\",\"dir\":\"$WORK/js1\",\"role\":\"listen\",\"host\":\"127.0.0.1\",\"port\":0,\"transport\":\"utp\",\"prepare\":[{\"cmd\":\"create\",\"name\":\"c1\",\"blocks\":$BLOCKS,\"size\":4096,\"tag\":\"u\"}]}" \
  <"$WORK/in1" >"$WORK/js1.out" 2>"$WORK/js1.out.err" &
PIDS+=($!)
exec 7>"$WORK/in1"
created=$(js_event "$WORK/js1.out" created)
listening=$(js_event "$WORK/js1.out" listening)
K=$(node -e "console.log(JSON.parse(process.argv[1]).key)" "$created")
SUM=$(node -e "console.log(JSON.parse(process.argv[1]).sha256)" "$created")
PORT=$(node -e "console.log(JSON.parse(process.argv[1]).port)" "$listening")
timed 0 120 clone "$WORK/c1" "$K" --connect "127.0.0.1:$PORT" --transport utp --no-sync
got=$("$CLI" cat "$WORK/c1" "$K" | sha256sum | cut -d' ' -f1)
[ "$got" = "$SUM" ] || fail "the chain cloned from JS over uTP differs ($got, want $SUM)"
echo "  JS -> C over uTP: $BLOCKS blocks intact"
exec 7>&-

# 2. JS initiator, C responder (share).
A=$WORK/a
run 0 init "$A"
run 0 create "$A" --name big
K2=$(cat "$OUT")
head -c $((BLOCKS * 4096)) /dev/urandom >"$WORK/data"
run 0 append "$A" "$K2" "$WORK/data" --block-size 4096 --no-sync
SUM2=$(sha256sum <"$WORK/data" | cut -d' ' -f1)
start_share a "$A"
PORT2=${LAST_ADDR##*:}
mkfifo "$WORK/in2"
node "$JS/repl/peer.js" "{\"profile\":\"bitspace\",\"dir\":\"$WORK/js2\",\"role\":\"connect\",\"host\":\"127.0.0.1\",\"port\":$PORT2,\"transport\":\"utp\"}" \
  <"$WORK/in2" >"$WORK/js2.out" 2>"$WORK/js2.out.err" &
PIDS+=($!)
exec 8>"$WORK/in2"
js_event "$WORK/js2.out" connected >/dev/null
echo "{\"cmd\":\"open\",\"key\":\"$K2\",\"sparse\":false}" >&8
js_event "$WORK/js2.out" opened >/dev/null
echo "{\"cmd\":\"wait\",\"key\":\"$K2\",\"length\":$BLOCKS}" >&8
synced=$(js_event "$WORK/js2.out" synced)
got2=$(node -e "console.log(JSON.parse(process.argv[1]).sha256)" "$synced")
[ "$got2" = "$SUM2" ] || fail "the chain the JS cloned from C over uTP differs ($got2, want $SUM2)"
echo "  C -> JS over uTP: $BLOCKS blocks intact"
t0=$SECONDS
kill -TERM "$LAST_PID"
wait "$LAST_PID" || fail "share exited $? on SIGTERM"
echo "  share closed in order in $((SECONDS - t0)) s"
exec 8>&-
echo ok
