# Shared by the interop test scripts: environment, skip rules, temp dir, steps.
# Sourced, not run. Expects the ctest environment (CHAINSTORE_CLI,
# CHAINSTORE_JS_DIR, CHAINSTORE_VECTORS); falls back to the source tree layout.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
JS_DIR=${CHAINSTORE_JS_DIR:-$here/../../interop/js}
CLI=${CHAINSTORE_CLI:-}
VECTORS=${CHAINSTORE_VECTORS:-$here/../vectors}

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*" >&2; exit 1; }

require_js() {
  command -v node >/dev/null 2>&1 || skip "node is not installed (bash scripts/install-deps.sh --js)"
  [ -f "$JS_DIR/node_modules/corestore/package.json" ] ||
    skip "the legacy JS stack is not installed in $JS_DIR/node_modules (npm ci)"
}

require_cli() {
  [ -n "$CLI" ] && [ -x "$CLI" ] || fail "CHAINSTORE_CLI is not set to the chainstore program"
}

# A fresh directory, removed on exit unless the test failed (then it is kept
# and printed, to look at the store).
make_tmp() {
  TMP=$(mktemp -d "${TMPDIR:-/tmp}/chainstore-$1.XXXXXX")
  trap 'rc=$?; if [ $rc -eq 0 ] || [ $rc -eq 77 ]; then rm -rf "$TMP"; else echo "kept $TMP" >&2; fi; exit $rc' EXIT
}

# Prints and runs a command.
step() { echo "+ $*" >&2; "$@"; }

# Runs a command that must fail with exit code $1.
expect_exit() {
  local want=$1; shift
  echo "+ (expect exit $want) $*" >&2
  set +e; "$@" >/dev/null 2>&1; local got=$?; set -e
  [ "$got" -eq "$want" ] || fail "exit code $got, want $want: $*"
}

js() { node "$JS_DIR/$1" "${@:2}"; }

# A seed for the random choices of a test: INTEROP_SEED, else a fresh one.
pick_seed() {
  SEED=${INTEROP_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
  echo "seed $SEED (rerun with INTEROP_SEED=$SEED)"
}

random_key_hex() { od -An -N32 -tx1 /dev/urandom | tr -d ' \n'; }

other_profile() { [ "$1" = bitspace ] && echo hypercore || echo bitspace; }
