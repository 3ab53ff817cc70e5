#!/usr/bin/env bash
# The NAT acceptance figures: N runs (default 50) of share/clone by
# discovery key between two hosts behind separate NATs (clone_nat.sh in
# tests/tools/netns-nat); prints every run, the success count and the median
# times (connected, cloned after the clone started). Needs root and iptables.
#   clone_nat_stats.sh [--bare|--no-nat|--same-lan]... [N] [CLI]
# CLI default build/test/tools/chainstore. The options are netns-nat's
# (also from CLONE_NAT_NETNS_OPTS); --bare runs share and clone with
# --patient-holepunch (clone_nat.sh), ~40 s a run.
set -euo pipefail
D=$(cd "$(dirname "$0")" && pwd)
OPTS=(${CLONE_NAT_NETNS_OPTS:-})
while [ $# -gt 0 ] && [[ $1 == --* ]]; do
  case $1 in
    --bare | --no-nat | --same-lan) OPTS+=("$1") ;;
    *) echo "clone_nat_stats.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
N=${1:-50}
CLI=$(realpath "${2:-$D/../../build/test/tools/chainstore}")
exec "$D/../tools/netns-nat" "${OPTS[@]}" bash "$D/clone_nat.sh" "$CLI" "$N"
