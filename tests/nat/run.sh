#!/usr/bin/env bash
# Skips (77) without root or iptables, else runs utp_punch.sh in netns-nat.
D=$(cd "$(dirname "$0")" && pwd)
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root"; exit 77; }
command -v iptables >/dev/null || command -v iptables-nft >/dev/null || command -v iptables-legacy >/dev/null ||
  { echo "SKIP: no iptables (apt-get install iptables)"; exit 77; }
exec "$D/../tools/netns-nat" ${UTP_PUNCH_MODE:-} bash "$D/utp_punch.sh" "$@"
