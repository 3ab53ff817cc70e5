#!/usr/bin/env bash
# share -> clone from a damaged store (issue 14): every store file damaged
# every way of damage_loop.sh, shared, and cloned into a fresh store. The
# clone either succeeds with exactly the original bytes of a prefix or fails
# with a message; neither side crashes. Runs in a fresh network namespace
# (root); exit 77 without.
if [ -z "${DAMAGE_SHARE_IN_NETNS:-}" ]; then
  if [ "$(id -u)" != 0 ] || ! unshare -n true 2>/dev/null; then
    echo "SKIP: needs root for a network namespace"
    exit 77
  fi
  DAMAGE_SHARE_IN_NETNS=1 exec unshare -n bash "$0" "$@"
fi
. "$(dirname "$0")/lib.sh"
ip link set lo up 2>/dev/null || { echo "SKIP: cannot bring lo up"; exit 77; }

damage_setup
SHARE=
stop_share() {
  [ -n "$SHARE" ] || return 0
  kill -TERM "$SHARE" 2>/dev/null || true
  local code=0
  wait "$SHARE" 2>/dev/null || code=$?
  SHARE=
  ! grep -q "Sanitizer\|runtime error" "$WORK/share.err" || fail "$1: share: sanitizer report"
  [ "$code" -lt 128 ] || [ "$code" = 143 ] || fail "$1: share killed by signal $((code - 128))"
}
trap 'stop_share cleanup; rm -rf "$WORK"' EXIT

cases=0
for file in $DAMAGE_FILES; do
  for kind in $DAMAGE_KINDS; do
    D=$WORK/case
    C=$WORK/clone
    rm -rf "$D" "$C"
    cp -a "$P" "$D"
    damage "$D/$REL/$file" $kind
    label="$file/$kind"
    cases=$((cases + 1))

    : >"$WORK/share.out" # here, not in the background job: no stale line
    "$CLI" share "$D" --listen 127.0.0.1:0 >"$WORK/share.out" 2>"$WORK/share.err" &
    SHARE=$!
    deadline=$((SECONDS + 20))
    until grep -q "listening on [0-9.]*:[0-9][0-9]*" "$WORK/share.out"; do
      if ! kill -0 "$SHARE" 2>/dev/null; then
        # A store it cannot open: a message, no crash.
        code=0
        wait "$SHARE" || code=$?
        SHARE=
        cp "$WORK/share.err" "$ERR"
        no_crash "$code" "$label: share"
        continue 2
      fi
      [ $SECONDS -lt $deadline ] || fail "$label: share did not start"
      sleep 0.02
    done
    PEER=$(sed -n 's/.*listening on \([0-9.]*:[0-9]*\).*/\1/p' "$WORK/share.out" | head -1)
    try "$label: clone" clone "$C" "$K" --connect "$PEER" --no-sync --timeout 3000 --request-timeout 3000
    if [ "$CODE" = 0 ]; then
      try "$label: cat of the clone" cat "$C" "$K"
      [ "$CODE" != 0 ] || out_is_prefix_of "$WORK/content" "$label: cat of the clone"
      try "$label: verify of the clone" verify "$C" "$K"
      [ "$CODE" = 0 ] || fail "$label: the clone does not verify"
    fi
    stop_share "$label"
  done
done
echo "ok: $cases cases"
