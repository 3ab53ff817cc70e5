#!/usr/bin/env bash
# Installs what building and testing need and is missing: Debian packages,
# Node.js >= 18 (Debian's nodejs + npm) and, with --js, the pinned legacy JS
# stack in interop/js (npm ci). Safe to run again: it only installs what lacks.
set -euo pipefail
cd "$(dirname "$0")/.."

want_js=0
[ "${1:-}" = "--js" ] && want_js=1

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

packages=(build-essential cmake pkg-config clang libclang-rt-14-dev libsodium-dev libuv1-dev
  libprotobuf-c-dev protobuf-c-compiler libcmocka-dev libcjson-dev iproute2 iptables procps time)
node_ok=0
if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then
  major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
  [ "$major" -ge 18 ] && node_ok=1
fi
[ $want_js = 1 ] && [ $node_ok = 0 ] && packages+=(nodejs npm)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ $want_js = 1 ]; then
  stamp=interop/js/node_modules/.chainstore-lock-stamp
  if [ ! -f "$stamp" ] || ! cmp -s interop/js/package-lock.json "$stamp"; then
    echo "install-deps: npm ci in interop/js (pinned legacy JS stack)"
    (cd interop/js && npm ci --no-audit --no-fund --loglevel=error)
    cp interop/js/package-lock.json "$stamp"
  fi
fi
