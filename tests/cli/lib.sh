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

# ---- damage loops (damage_loop.sh, damage_share.sh) ----

# A crash is an exit code of 128 or more (a signal) or a sanitizer report.
no_crash() {
  local code=$1 what=$2
  [ "$code" -lt 128 ] || fail "$what: killed by signal $((code - 128))"
  ! grep -q "Sanitizer\|runtime error" "$ERR" || fail "$what: sanitizer report"
  [ "$code" = 0 ] || [ "$code" = 1 ] || fail "$what: exit $code"
  [ "$code" = 0 ] || err_starts
}

try() { # try WHAT ARGS... : runs the CLI, any exit code; sets $CODE
  local what=$1
  shift
  CODE=0
  "$CLI" "$@" >"$OUT" 2>"$ERR" || CODE=$?
  no_crash "$CODE" "$what"
}

damage() { # damage FILE KIND
  local f=$1 kind=$2 size
  size=$(stat -c %s "$f")
  case $kind in
  half) truncate -s $((size / 2)) "$f" ;;
  empty) : >"$f" ;;
  garbage) head -c 777 /dev/urandom >>"$f" ;;
  flip-first) [ "$size" -gt 0 ] && flip_byte "$f" 0 || true ;;
  flip-middle) [ "$size" -gt 0 ] && flip_byte "$f" $((size / 2)) || true ;;
  flip-last) [ "$size" -gt 0 ] && flip_byte "$f" $((size - 1)) || true ;;
  esac
}


DAMAGE_FILES="bitfield tree data signatures key name ../../../master_key ../../../profile"
DAMAGE_KINDS="half empty garbage flip-first flip-middle flip-last"

# Builds the pristine store of the damage loops: $P, chain $K of 200
# 10-byte blocks, $WORK/content its bytes, $REL its directory in the store.
damage_setup() {
  P=$WORK/pristine
  run 0 create "$P" --name loop
  K=$(cat "$OUT")
  seq -f 'block-%04g' 0 199 >"$WORK/in"
  run 0 append "$P" "$K" "$WORK/in" --batch 16 --no-sync
  tr -d '\n' <"$WORK/in" >"$WORK/content"
  local pdir
  pdir=$(chain_dir "$P" "$K")
  REL=${pdir#"$P"/}
}

# Fails unless $OUT is a prefix of file $1 (a wrong byte with exit 0).
out_is_prefix_of() {
  local n
  n=$(stat -c %s "$OUT")
  cmp -s -n "$n" "$OUT" "$1" || fail "$2: printed a wrong byte with exit 0"
}
