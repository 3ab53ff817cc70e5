#!/usr/bin/env bash
# bench/utp/run.sh [BENCH_UTP]: uTP throughput on loopback and through the
# lossy relay (2 % loss, 50 ms each way), C<->C, C<->JS, JS<->JS, next to C
# TCP on the same path and the crypto bound. Bytes move both ways at once;
# MiB/s is the sum of both directions. Runs inside a fresh network
# namespace (tests/tools/netns-run, root). Each line is one JSON figure.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
B=${1:-$ROOT/build/release/bench/utp/bench_utp}
export CHAINSTORE_JS_DIR=${CHAINSTORE_JS_DIR:-$ROOT/interop/js}
N=${UTP_BENCH_BYTES:-$((64 << 20))}
L=${UTP_BENCH_LOSSY_BYTES:-$((4 << 20))}
if [ ! -x "$B" ]; then echo "bench_utp missing: cmake --build build/release --target bench_utp"; exit 1; fi
if ! command -v node >/dev/null || [ ! -d "$CHAINSTORE_JS_DIR/node_modules/utp-native" ]; then
  echo "JS figures missing: node or utp-native not installed (bash scripts/install-deps.sh --js)"
  JS=0
else
  JS=1
fi
exec "$ROOT/tests/tools/netns-run" bash -c '
  B=$1 N=$2 L=$3 JS=$4
  "$B" bound $N
  for m in tcp c-c; do "$B" $m $N 2>/dev/null; done
  [ $JS = 1 ] && for m in c-js js-c js-js; do "$B" $m $N 2>/dev/null; done
  for m in c-c; do "$B" $m $L --loss 2 --delay 50 2>/dev/null; done
  [ $JS = 1 ] && for m in c-js js-c; do "$B" $m $L --loss 2 --delay 50 2>/dev/null; done
  true' _ "$B" "$N" "$L" "$JS"
