#!/usr/bin/env bash
# share and clone by discovery key between two hosts (run inside
# tests/tools/netns-nat): a DHT bootstrap node on pub; each run h1 shares a
# fresh chain of 100 x 4 KiB blocks (`chainstore share --json`), h2 clones it
# (`chainstore clone --json`). They find each other on the DHT and the
# clone's dial races TCP with holepunch + uTP (spec/swarm.md section 3).
#   clone_nat.sh CLI [RUNS]      RUNS default 3
# Environment:
#   CLONE_NAT_EXPECT  the peer type the clone must report: utp (default
#                     behind NATs: their firewalls drop the TCP SYN), tcp
#                     (default with --no-nat), any
#   CLONE_NAT_BLOCK_TCP=1  h1 drops inbound TCP to its port (iptables in h1):
#                     only the holepunch + uTP attempt can connect
#   CLONE_NAT_PATIENT=1  share and clone with --patient-holepunch (default 1
#                     in netns-nat --bare, where only its fallback opens the
#                     punch, ~38.5 s: tests/nat/README.md; else 0)
# Prints each run and then "N/RUNS cloned (MODE, type T): connected median
# X ms, cloned median Y ms after the clone started"; exit 0 when all runs
# cloned with the type expected.
set -euo pipefail
CLI=$1
RUNS=${2:-3}
BLOCKS=100
if [ "$NETNS_MODE" = direct ]; then EXPECT=${CLONE_NAT_EXPECT:-tcp}; else EXPECT=${CLONE_NAT_EXPECT:-utp}; fi
[ "${CLONE_NAT_BLOCK_TCP:-0}" = 1 ] && EXPECT=${CLONE_NAT_EXPECT:-utp}
IPT=${NETNS_IPTABLES:-iptables}
if [ "$NETNS_MODE" = bare ]; then PATIENT=${CLONE_NAT_PATIENT:-1}; else PATIENT=${CLONE_NAT_PATIENT:-0}; fi
FLAGS=()
[ "$PATIENT" = 1 ] && FLAGS=(--patient-holepunch)
W=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$W"' EXIT

. "$(dirname "$0")/lib.sh"
start_bootstrap "$CLI" "$W"
PORT=49800

A=$W/a
"$CLI" init "$A" >/dev/null
head -c $((BLOCKS * 4096)) /dev/urandom >"$W/data"

ok=0
conn_ms=()
clone_ms=()
for r in $(seq "$RUNS"); do
  K=$("$CLI" create "$A" --name "r$r")
  "$CLI" append "$A" "$K" "$W/data" --block-size 4096 --no-sync >/dev/null
  PORT=$((PORT + 1))
  if [ "${CLONE_NAT_BLOCK_TCP:-0}" = 1 ]; then
    ip netns exec "$NETNS_H1" "$IPT" -A INPUT -p tcp --dport "$PORT" -j DROP
  fi
  ip netns exec "$NETNS_H1" "$CLI" share "$A" "$K" --bootstrap "$BOOT" --no-lan --port "$PORT" --json \
    "${FLAGS[@]}" >"$W/s.out" 2>"$W/s.err" &
  S=$!
  why=""
  if ! wait_for "$W/s.out" '"event":"announced"' 20; then
    why="share did not announce"
  elif ! ip netns exec "$NETNS_H2" "$CLI" clone "$W/b$r" "$K" --bootstrap "$BOOT" --no-lan --json \
      --timeout 10000 --no-sync "${FLAGS[@]}" >"$W/c.out" 2>"$W/c.err"; then
    why="clone failed"
  else
    add=$(grep -m1 '"event":"peer-add"' "$W/c.out" || true)
    done_line=$(grep -m1 '"event":"done"' "$W/c.out" || true)
    type=$(json_field type "$add")
    len=$(json_field length "$done_line")
    if [ "$len" != "$BLOCKS" ]; then
      why="cloned ${len:-no} blocks"
    elif [ "$EXPECT" != any ] && [ "$type" != "$EXPECT" ]; then
      why="peer type $type, expected $EXPECT"
    fi
  fi
  held=""
  if [ -n "$why" ]; then # what a lookup finds while the share still runs
    dk=$(json_field discoveryKey "$(grep -m1 '"event":"announced"' "$W/s.out" || true)")
    [ -z "$dk" ] || held=$(ip netns exec "$NETNS_H2" "$CLI" dht-lookup "$dk" --bootstrap "$BOOT" 2>&1 | tr '\n' ' ')
  fi
  stop $S
  if [ -n "$why" ]; then
    echo "run $r FAILED: $why"
    echo "  the DHT held for it then: ${held:-?}"
    tail -n 5 "$W/s.out" "$W/s.err" "$W/c.out" "$W/c.err" 2>/dev/null | sed 's/^/  /'
  else
    ok=$((ok + 1))
    c=$(json_field ms "$add")
    s=$(json_field seconds "$done_line")
    s=$(awk -v s="$s" 'BEGIN { printf "%.0f", s * 1000 }')
    conn_ms+=("$c")
    clone_ms+=("$s")
    echo "run $r: $type, connected $c ms, cloned $s ms"
  fi
  rm -rf "$W/b$r"
done

blocked=""
[ "${CLONE_NAT_BLOCK_TCP:-0}" = 1 ] && blocked=", TCP blocked"
[ "$PATIENT" = 1 ] && blocked="$blocked, --patient-holepunch"
echo "$ok/$RUNS cloned ($NETNS_MODE$blocked, type $EXPECT): connected median $(median "${conn_ms[@]}") ms," \
  "cloned median $(median "${clone_ms[@]}") ms after the clone started"
[ "$ok" = "$RUNS" ]
