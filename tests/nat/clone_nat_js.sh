#!/usr/bin/env bash
# C <-> JS hyperswarm behind two NATs (run inside tests/tools/netns-nat): a
# DHT bootstrap node (C) on pub; each run one host shares a fresh chain of
# 100 x 4 KiB blocks and the other clones it by discovery key over the DHT,
# one side the C CLI, the other @corestore/networker 1.2.1
# (interop/js/networker/nat-peer.js, bitspace profile). Both holepunch and
# connect over uTP (the NAT firewalls drop TCP).
#   clone_nat_js.sh CLI JS_DIR DIRECTION [RUNS]
#     DIRECTION: js2c (JS shares on h1, C clones on h2) or c2js (C shares,
#     JS clones); RUNS default 1.
# Prints each run, then "N/RUNS cloned (DIRECTION, MODE): connected median
# X ms, cloned median Y ms after the clone started"; exit 0 when all cloned
# with both sides reporting type utp.
set -euo pipefail
CLI=$1
JS=$2
DIR=$3
RUNS=${4:-1}
BLOCKS=100
EXPECT=${CLONE_NAT_EXPECT:-utp}
W=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$W"' EXIT
. "$(dirname "$0")/lib.sh"
start_bootstrap "$CLI" "$W"
# (the background ones are not run through a function: $! must be the process)
H2() { ip netns exec "$NETNS_H2" "$@"; }

A=$W/a
"$CLI" init "$A" >/dev/null
head -c $((BLOCKS * 4096)) /dev/urandom >"$W/data"

ok=0
conn_ms=()
clone_ms=()
for r in $(seq "$RUNS"); do
  : >"$W/s.out"
  why=""
  if [ "$DIR" = c2js ]; then
    K=$("$CLI" create "$A" --name "r$r")
    "$CLI" append "$A" "$K" "$W/data" --block-size 4096 --no-sync >/dev/null
    ip netns exec "$NETNS_H1" "$CLI" share "$A" "$K" --bootstrap "$BOOT" --no-lan --json >"$W/s.out" 2>"$W/s.err" &
  else
    ip netns exec "$NETNS_H1" node "$JS/networker/nat-peer.js" share --bootstrap "$BOOT" --blocks $BLOCKS --block-size 4096 \
      >"$W/s.out" 2>"$W/s.err" &
  fi
  S=$!
  if ! wait_for "$W/s.out" '"event":"announced"' 30; then
    why="share did not announce"
  else
    [ "$DIR" = c2js ] || K=$(json_field key "$(grep -m1 '"event":"key"' "$W/s.out")")
    if [ "$DIR" = c2js ]; then
      H2 node "$JS/networker/nat-peer.js" clone "$K" --bootstrap "$BOOT" >"$W/c.out" 2>"$W/c.err" || why="clone failed"
    else
      H2 "$CLI" clone "$W/b$r" "$K" --bootstrap "$BOOT" --no-lan --json --timeout 10000 --no-sync \
        >"$W/c.out" 2>"$W/c.err" || why="clone failed"
    fi
  fi
  if [ -z "$why" ]; then
    add=$(grep -m1 '"event":"peer-add"' "$W/c.out" || true)
    done_line=$(grep -m1 '"event":"done"' "$W/c.out" || true)
    type=$(json_field type "$add")
    len=$(json_field length "$done_line")
    if [ "$len" != "$BLOCKS" ]; then
      why="cloned ${len:-no} blocks"
    elif [ "$EXPECT" != any ] && [ "$type" != "$EXPECT" ]; then
      why="clone's peer type $type, expected $EXPECT"
    elif ! wait_for "$W/s.out" '"event":"peer-add"' 5; then
      why="the share saw no peer"
    elif [ "$EXPECT" != any ] && [ "$(json_field type "$(grep -m1 '"event":"peer-add"' "$W/s.out")")" != "$EXPECT" ]; then
      why="share's peer type is not $EXPECT"
    fi
  fi
  stop $S
  if [ -n "$why" ]; then
    echo "run $r FAILED: $why"
    tail -n 5 "$W/s.out" "$W/s.err" "$W/c.out" "$W/c.err" 2>/dev/null | sed 's/^/  /'
  else
    ok=$((ok + 1))
    c=$(json_field ms "$add")
    s=$(awk -v s="$(json_field seconds "$done_line")" 'BEGIN { printf "%.0f", s * 1000 }')
    conn_ms+=("$c")
    clone_ms+=("$s")
    echo "run $r: $type, connected $c ms, cloned $s ms"
  fi
  rm -rf "$W/b$r"
done
echo "$ok/$RUNS cloned ($DIR, $NETNS_MODE, type $EXPECT): connected median $(median "${conn_ms[@]}") ms," \
  "cloned median $(median "${clone_ms[@]}") ms after the clone started"
[ "$ok" = "$RUNS" ]
