# Helpers of the NAT scripts (bash; sourced).

# wait_for FILE REGEX SECONDS: until a process has written the line (the
# line is the event; the poll only reads the file).
wait_for() {
  local i
  for i in $(seq $(($3 * 20))); do
    grep -q -- "$2" "$1" 2>/dev/null && return 0
    sleep 0.05
  done
  return 1
}

# median X...: of numbers, "-" for none.
median() {
  [ $# -gt 0 ] || { echo -; return; }
  printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# json_field NAME LINE: the value of "NAME":value (a string's without quotes).
json_field() { sed -n "s/.*\"$1\":\"\{0,1\}\([^\",}]*\).*/\1/p" <<<"$2"; }

# start_bootstrap CLI DIR: a DHT bootstrap node on pub; sets BOOT.
start_bootstrap() {
  "$1" bootstrap --host "$NETNS_PUB_ADDR" --port 49737 >"$2/boot.out" 2>&1 &
  wait_for "$2/boot.out" 49737 10 || { echo "bootstrap did not start: $(cat "$2/boot.out")"; exit 1; }
  BOOT=$NETNS_PUB_ADDR:49737
}

# stop PID: SIGTERM, and SIGKILL when it has not exited 5 s later (a JS
# networker's close may wait long on its DHT); then reaps it.
stop() {
  kill -TERM "$1" 2>/dev/null || true
  local i
  for i in $(seq 100); do
    kill -0 "$1" 2>/dev/null || break
    sleep 0.05
  done
  kill -KILL "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}
