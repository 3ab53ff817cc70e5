#!/usr/bin/env bash
# `chainstore demo` shows the networker: a DHT bootstrap on 127.0.0.1, a
# writer and two readers finding each other by discovery key, a live
# append reaching both readers, each step with its time. Run inside a
# network namespace holding only lo (tests/tools/netns-run), so nothing it
# sends could leave 127.0.0.1, and as an ordinary user (nobody) when we are
# root, since it must need no privilege.
. "$(dirname "$0")/lib.sh"

mkdir -p "$WORK/tmp"
chmod 777 "$WORK" "$WORK/tmp"
AS=()
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null 2>&1; then
  AS=(setpriv --reuid=65534 --regid=65534 --clear-groups)
fi
TMPDIR=$WORK/tmp timeout -s KILL 120 "${AS[@]}" "$CLI" demo --mib 2 >"$OUT" 2>"$ERR" || fail "demo failed"
out_has "^dht      bootstrap node on 127.0.0.1:"
out_has "^announce the writer announced discovery key"
out_has "reader 1: first peer after [0-9.]* s, first block after [0-9.]* s, all 2.0 MiB after [0-9.]* s: [0-9.]* MiB/s"
out_has "reader 2: first peer after"
out_has "the writer has 2 peers"
out_has "^live     block 2048 appended by the writer reached both readers in"
out_has "^compare  all 2048 blocks are identical in both readers' copies"
out_has "^demo ok"
[ -z "$(ls -A "$WORK/tmp")" ] || fail "demo left files in TMPDIR"
echo "demo_networker: ok"
