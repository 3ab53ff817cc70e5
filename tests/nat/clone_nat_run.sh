#!/usr/bin/env bash
# ctest entry: share/clone by discovery key through the swarm's connect race
# (clone_nat.sh) in three networks of tests/tools/netns-nat:
#   behind two NATs, ROUNDS runs: the NAT firewalls drop TCP, uTP wins;
#   --no-nat: TCP wins; --no-nat with h1 dropping TCP: holepunch + uTP wins.
# Skips (77) without root or iptables.
#   clone_nat_run.sh CLI [ROUNDS]
set -euo pipefail
D=$(cd "$(dirname "$0")" && pwd)
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root"; exit 77; }
command -v iptables >/dev/null || command -v iptables-nft >/dev/null || command -v iptables-legacy >/dev/null ||
  { echo "SKIP: no iptables (apt-get install iptables)"; exit 77; }
CLI=$1
ROUNDS=${2:-3}
"$D/../tools/netns-nat" bash "$D/clone_nat.sh" "$CLI" "$ROUNDS"
"$D/../tools/netns-nat" --no-nat bash "$D/clone_nat.sh" "$CLI" 2
CLONE_NAT_BLOCK_TCP=1 "$D/../tools/netns-nat" --no-nat bash "$D/clone_nat.sh" "$CLI" 2
