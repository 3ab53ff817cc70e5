#!/usr/bin/env bash
# ctest entry: share/clone by discovery key through the swarm's connect race
# (clone_nat.sh) in three networks of tests/tools/netns-nat:
#   behind two NATs, ROUNDS runs: the NAT firewalls drop TCP, uTP wins;
#   --no-nat: TCP wins; --no-nat with h1 dropping TCP: holepunch + uTP wins.
# With --bare instead: ROUNDS runs behind routers without a firewall
# (netns-nat --bare), share and clone with --patient-holepunch: only the
# DHT's holepunch fallback opens the path (~38.5 s), uTP must win.
# Skips (77) without root or iptables.
#   clone_nat_run.sh CLI [ROUNDS] [--bare]
set -euo pipefail
D=$(cd "$(dirname "$0")" && pwd)
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root"; exit 77; }
command -v iptables >/dev/null || command -v iptables-nft >/dev/null || command -v iptables-legacy >/dev/null ||
  { echo "SKIP: no iptables (apt-get install iptables)"; exit 77; }
CLI=$1
ROUNDS=${2:-3}
if [ "${3:-}" = --bare ]; then
  exec "$D/../tools/netns-nat" --bare bash "$D/clone_nat.sh" "$CLI" "$ROUNDS"
fi
"$D/../tools/netns-nat" bash "$D/clone_nat.sh" "$CLI" "$ROUNDS"
"$D/../tools/netns-nat" --no-nat bash "$D/clone_nat.sh" "$CLI" 2
CLONE_NAT_BLOCK_TCP=1 "$D/../tools/netns-nat" --no-nat bash "$D/clone_nat.sh" "$CLI" 2
