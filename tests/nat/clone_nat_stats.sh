#!/usr/bin/env bash
# The NAT acceptance figures: N runs (default 50) of share/clone by
# discovery key between two hosts behind separate NATs (clone_nat.sh in
# tests/tools/netns-nat); prints every run, the success count and the median
# times (connected, cloned after the clone started). Needs root and iptables.
#   clone_nat_stats.sh [N] [CLI]     CLI default build/test/tools/chainstore
set -euo pipefail
D=$(cd "$(dirname "$0")" && pwd)
N=${1:-50}
CLI=$(realpath "${2:-$D/../../build/test/tools/chainstore}")
exec "$D/../tools/netns-nat" ${CLONE_NAT_NETNS_OPTS:-} bash "$D/clone_nat.sh" "$CLI" "$N"
