#!/usr/bin/env bash
# ctest entry: C <-> JS hyperswarm behind two NATs (clone_nat_js.sh), one
# round each way. Skips (77) without root, iptables, node or the JS stack.
#   clone_nat_js_run.sh CLI [ROUNDS]
set -euo pipefail
D=$(cd "$(dirname "$0")" && pwd)
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root"; exit 77; }
command -v iptables >/dev/null || command -v iptables-nft >/dev/null || command -v iptables-legacy >/dev/null ||
  { echo "SKIP: no iptables (apt-get install iptables)"; exit 77; }
command -v node >/dev/null || { echo "SKIP: node is not installed (bash scripts/install-deps.sh --js)"; exit 77; }
JS=${CHAINSTORE_JS_DIR:-$D/../../interop/js}
[ -d "$JS/node_modules/@corestore/networker" ] ||
  { echo "SKIP: the pinned JS stack ($JS/node_modules) is not installed (bash scripts/install-deps.sh --js)"; exit 77; }
for dir in js2c c2js; do
  "$D/../tools/netns-nat" bash "$D/clone_nat_js.sh" "$1" "$JS" "$dir" "${2:-1}"
done
