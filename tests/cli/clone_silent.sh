#!/usr/bin/env bash
# A peer that completes the handshake and sends keep-alives but never opens
# the chain nor refuses it (interop/js/silent-peer.js, on node): `clone`
# drops it once --timeout passed and exits 1 "no peer has chain KEY", in a
# network namespace (tests/tools/netns-run). Skipped without node.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/net.sh"
need_js_stack

node "$CHAINSTORE_JS_DIR/silent-peer.js" --timeout-ms 4000 >"$WORK/silent.out" 2>"$WORK/silent.err" &
PIDS+=($!)
wait_line "$WORK/silent.out" "^listening on " 20 || fail "silent-peer.js did not start: $(cat "$WORK/silent.err")"
PS=$(sed -n 's/^listening on //p' "$WORK/silent.out")
K=$(printf 'cd%.0s' $(seq 32))

t0=$SECONDS
timed 1 20 clone "$WORK/b" "$K" --connect "$PS" --timeout 5000
err_has "did not open chain $K within 5000 ms"
err_has "no peer has chain $K\$"
[ $((SECONDS - t0)) -ge 4 ] || fail "dropped before its timeout"
echo ok
