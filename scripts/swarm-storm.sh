#!/usr/bin/env bash
# Issue 11's storm: 200 swarms (10 processes x 20, default) on one topic in
# one network namespace, with a local DHT bootstrap node; checks each holds
# <= maxPeers connections, no pair holds two, fds per swarm <= connections
# + 3, and prints connections, fds and RSS per swarm. Needs root. BUILD is
# a build directory with tests (default build/test; an unsanitized Release
# build gives RSS figures worth quoting). Extra arguments go to the program
# (--procs P --swarms N --max-peers M --seconds S --refresh-ms R).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD:-build/test}
bin="$build/tests/swarm/swarm_storm"
[ -x "$bin" ] || { echo "build $bin first (cmake --build $build --target swarm_storm)" >&2; exit 2; }
exec "$bin" --procs 10 --swarms 20 --max-peers 24 --seconds 40 "$@"
