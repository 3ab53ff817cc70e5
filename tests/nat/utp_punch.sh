#!/usr/bin/env bash
# Holepunch then uTP between two hosts behind separate NATs (run inside
# tests/tools/netns-nat, which gives pub, h1 behind nat1 and h2 behind nat2):
# a DHT bootstrap node on pub, h2 announces a topic, h1 looks it up,
# holepunches through the referrer and moves BYTES to h2 over uTP on the
# DHT's own socket. RUNS times (default 5); prints each run's times.
# In --bare a run takes ~40 s (the holepunch fallback, tests/nat/README.md).
# UTP_PUNCH_JS=announce|connect: that side is JS (utp_punch_js.js, node).
set -euo pipefail
P=$1
CLI=$2
ANN=$P CON=$P
JS="node $(cd "$(dirname "$0")" && pwd)/utp_punch_js.js"
if [ -n "${UTP_PUNCH_JS:-}" ]; then
  command -v node >/dev/null && [ -d "${CHAINSTORE_JS_DIR:-$(dirname "$0")/../../interop/js}/node_modules/@hyperswarm/dht" ] ||
    { echo "SKIP: no node or no JS stack"; exit 77; }
fi
case "${UTP_PUNCH_JS:-}" in
  announce) ANN=$JS ;;
  connect) CON=$JS ;;
esac
BYTES=${UTP_PUNCH_BYTES:-$((1 << 20))}
RUNS=${UTP_PUNCH_RUNS:-5}
W=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$W"' EXIT
"$CLI" bootstrap --host "$NETNS_PUB_ADDR" --port 49737 >"$W/boot.out" 2>&1 &
for i in $(seq 100); do grep -q listening "$W/boot.out" && break; sleep 0.05; done
BOOT=$NETNS_PUB_ADDR:49737
ok=0
for r in $(seq "$RUNS"); do
  T=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
  ip netns exec "$NETNS_H2" $ANN announce "$BOOT" "$T" "$BYTES" >"$W/a.out" 2>"$W/a.err" &
  A=$!
  for i in $(seq 200); do grep -q announced "$W/a.out" && break; sleep 0.05; done
  if ip netns exec "$NETNS_H1" $CON connect "$BOOT" "$T" "$BYTES" >"$W/c.out" 2>"$W/c.err" && wait $A; then
    ok=$((ok + 1))
    echo "run $r: $(cat "$W/c.out") / $(cat "$W/a.out" | tail -1)"
  else
    echo "run $r FAILED: $(cat "$W/c.out" "$W/c.err" "$W/a.err" | tail -8)"
    kill $A 2>/dev/null || true
  fi
done
echo "$ok/$RUNS holepunched and transferred ($NETNS_MODE${UTP_PUNCH_JS:+, JS ${UTP_PUNCH_JS}s})"
[ "$ok" = "$RUNS" ]
