#!/usr/bin/env bash
# uTP over the libuv glue (run inside tests/tools/netns-run): C<->JS
# utp-native 2.5.3 both roles, 8 MiB each way at once, intact; then through
# a user-space relay dropping 2 % and delaying 50 ms each datagram: C<->C
# and C<->JS, 1 MiB each way intact (16 MiB by hand: UTP_LOSSY_BYTES).
set -euo pipefail
X=$1
BYTES=${UTP_XFER_BYTES:-$((8 << 20))}
LOSSY=${UTP_LOSSY_BYTES:-$((1 << 20))}
if ! command -v node >/dev/null || [ ! -d "${CHAINSTORE_JS_DIR:-}/node_modules/utp-native" ]; then
  echo "SKIP: node or interop/js/node_modules/utp-native missing"
  exit 77
fi
run() {
  echo "utp_xfer $*"
  "$X" "$@" 2>"${TMPDIR:-/tmp}/utp_xfer.$$.err" || { cat "${TMPDIR:-/tmp}/utp_xfer.$$.err"; echo "FAIL: utp_xfer $*"; exit 1; }
}
run c-c "$BYTES"
run c-js "$BYTES"
run js-c "$BYTES"
run c-c "$LOSSY" --loss 2 --delay 50
run c-js "$LOSSY" --loss 2 --delay 50
run js-c "$LOSSY" --loss 2 --delay 50
rm -f "${TMPDIR:-/tmp}/utp_xfer.$$.err"
echo ok
