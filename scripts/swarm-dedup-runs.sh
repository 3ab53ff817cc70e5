#!/usr/bin/env bash
# Runs the C swarm <-> JS hyperswarm interop test with N (default 50) runs of
# the both-dial-at-once case and prints how often exactly one connection,
# the same socket pair on both sides, survived. Needs root (network
# namespaces) and node; BUILD is the build directory (default build/test).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-50}
build=${BUILD:-build/test}
bin="$build/tests/swarm/test_swarm_js"
[ -x "$bin" ] || { echo "build $bin first" >&2; exit 2; }
CHAINSTORE_JS_DIR="$PWD/interop/js" SWARM_JS_RUNS="$runs" "$bin" 2>&1 | grep -E "dedup runs|FAILED|SKIP|connections"
