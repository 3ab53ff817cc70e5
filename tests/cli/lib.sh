# Helpers for the CLI tests (bash). Source it; $CHAINSTORE_CLI is the binary.
set -euo pipefail

CLI=${CHAINSTORE_CLI:?CHAINSTORE_CLI is not set (run through ctest)}
TEST_NAME=$(basename "$0" .sh)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/chainstore-cli-$TEST_NAME-XXXXXX")
trap 'rm -rf "$WORK"' EXIT
OUT=$WORK/.out
ERR=$WORK/.err

fail() {
  echo "FAIL ($TEST_NAME): $*" >&2
  if [ -s "$OUT" ]; then echo "--- stdout:" >&2; head -c 2000 "$OUT" >&2; echo >&2; fi
  if [ -s "$ERR" ]; then echo "--- stderr:" >&2; head -c 2000 "$ERR" >&2; fi
  exit 1
}

# run CODE ARGS... : runs the CLI, stdout → $OUT, stderr → $ERR, and checks
# the exit code.
run() {
  local want=$1
  shift
  local got=0
  "$CLI" "$@" >"$OUT" 2>"$ERR" || got=$?
  [ "$got" = "$want" ] || fail "chainstore $* exited $got, expected $want"
}

# run_in CODE INPUTFILE ARGS... : as run, with stdin from INPUTFILE.
run_in() {
  local want=$1 input=$2
  shift 2
  local got=0
  "$CLI" "$@" <"$input" >"$OUT" 2>"$ERR" || got=$?
  [ "$got" = "$want" ] || fail "chainstore $* < $input exited $got, expected $want"
}

out_is() { [ "$(cat "$OUT")" = "$1" ] || fail "stdout is '$(head -c 300 "$OUT")', expected '$1'"; }
out_has() { grep -q -- "$1" "$OUT" || fail "stdout lacks '$1'"; }
err_has() { grep -q -- "$1" "$ERR" || fail "stderr lacks '$1'"; }
err_starts() { head -n1 "$ERR" | grep -q -- "^chainstore: " || fail "stderr does not start with 'chainstore: '"; }
same_file() { cmp -s "$1" "$2" || fail "$1 and $2 differ"; }

# Discovery key directory of the chain with key $2 in store $1 (found by its key file).
chain_dir() {
  local store=$1 key=$2 f
  for f in "$store"/??/??/*/key; do
    if [ "$(od -An -tx1 -v "$f" | tr -d ' \n')" = "$key" ]; then dirname "$f"; return 0; fi
  done
  fail "no chain directory holds key $key"
}

# Flips every bit of byte $2 of file $1.
flip_byte() {
  local file=$1 off=$2 b
  b=$(od -An -tu1 -j "$off" -N1 "$file" | tr -d ' ')
  printf "$(printf '\\%03o' $((255 - b)))" | dd of="$file" bs=1 seek="$off" conv=notrunc status=none
}

# Skips the test (exit 77, ctest's skip code) unless node and the pinned JS
# stack are installed; the reason names what is missing and how to get it.
need_node() {
  if ! command -v node >/dev/null 2>&1; then
    echo "SKIP: node is not installed (bash scripts/install-deps.sh --js installs it)"
    exit 77
  fi
}
need_js_stack() {
  need_node
  local js=${CHAINSTORE_JS_DIR:-}
  if [ -z "$js" ] || [ ! -d "$js/node_modules/corestore" ]; then
    echo "SKIP: the pinned JS stack (${js:-interop/js}/node_modules) is not installed (bash scripts/install-deps.sh --js)"
    exit 77
  fi
}

# Parses JSON file $1 with node and prints the JS expression $2 over it (the
# parsed value is `j`, e.g. j.chains.length). Call need_node first.
json_get() {
  node -e "const j = JSON.parse(require('fs').readFileSync(process.argv[1], 'utf8')); const v = ($2); console.log(typeof v === 'object' ? JSON.stringify(v) : v)" "$1"
}
