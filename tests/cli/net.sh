# Helpers for the CLI tests that open sockets (bash; source after lib.sh).
# Run them through tests/tools/netns-run: 127.0.0.1 of a fresh namespace.

PIDS=()
trap 'for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null || true; done; rm -rf "$WORK"' EXIT

# wait_line FILE REGEX SECONDS: waits for a line matching REGEX in FILE.
wait_line() {
  local deadline=$((SECONDS + $3))
  until grep -qE -- "$2" "$1" 2>/dev/null; do
    [ $SECONDS -lt $deadline ] || return 1
    sleep 0.05
  done
}

# start_share NAME ARGS...: `chainstore share ARGS... --listen $LISTEN`
# (default 127.0.0.1:0) in the background; its output in $WORK/NAME.out, its
# pid in $LAST_PID and its address in $LAST_ADDR.
start_share() {
  local name=$1
  shift
  "$CLI" share "$@" --listen "${LISTEN:-127.0.0.1:0}" >"$WORK/$name.out" 2>"$WORK/$name.err" &
  LAST_PID=$!
  PIDS+=("$LAST_PID")
  wait_line "$WORK/$name.out" "^listening on " 20 || fail "share $name did not start: $(cat "$WORK/$name.err")"
  LAST_ADDR=$(sed -n 's/^listening on //p' "$WORK/$name.out")
}

# timed CODE SECONDS ARGS...: as run, and the command must end within SECONDS.
timed() {
  local want=$1 limit=$2 t0=$SECONDS
  shift 2
  local got=0
  timeout -s KILL "$limit" "$CLI" "$@" >"$OUT" 2>"$ERR" || got=$?
  [ "$got" != 137 ] || fail "chainstore $* did not end within $limit s"
  [ "$got" = "$want" ] || fail "chainstore $* exited $got, expected $want"
  echo "  chainstore $1 ... ended in $((SECONDS - t0)) s with $got"
}
