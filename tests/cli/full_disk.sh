#!/usr/bin/env bash
# A full disk (issue 14), on a 2 MiB tmpfs in a private mount namespace
# (and a fresh network namespace for share -> clone); exit 77 without root.
# append and clone report ENOSPC with the system's words; clone blames the
# disk, not the peer, with the true count of blocks stored; what a failed
# batch wrote past the signed end of `data` is given back. Once space is
# freed, verify says ok, a resumed clone completes and cat gives the bytes.
if [ -z "${FULL_DISK_IN_NS:-}" ]; then
  if [ "$(id -u)" != 0 ] || ! unshare -m -n true 2>/dev/null; then
    echo "SKIP: needs root for a mount and a network namespace"
    exit 77
  fi
  FULL_DISK_IN_NS=1 exec unshare -m -n bash "$0" "$@"
fi
. "$(dirname "$0")/lib.sh"
ip link set lo up 2>/dev/null || { echo "SKIP: cannot bring lo up"; exit 77; }
DISK=$WORK/disk
mkdir -p "$DISK"
mount -t tmpfs -o size=2m tmpfs "$DISK" || { echo "SKIP: cannot mount a tmpfs"; exit 77; }
trap 'stop_share; umount "$DISK" 2>/dev/null; rm -rf "$WORK"' EXIT

# data_matches STORE KEY: `data` holds exactly the bytes of the stored length.
data_matches() {
  local dir
  dir=$(chain_dir "$1" "$2")
  run 0 info "$1"
  local bytes
  bytes=$(sed -n 's/^length *[0-9]* blocks, \([0-9]*\) bytes$/\1/p' "$OUT")
  [ -n "$bytes" ] || fail "info shows no byte length"
  [ "$(stat -c %s "$dir/data")" = "$bytes" ] || fail "data has $(stat -c %s "$dir/data") bytes, the chain $bytes"
}

head -c $((3 * 1024 * 1024)) /dev/urandom >"$WORK/input"

# ---- append onto a full disk ----
S=$DISK/s
run 0 create "$S" --name full
K=$(cat "$OUT")
run_in 1 "$WORK/input" append "$S" "$K" --block-size 4096 --batch 64
err_starts
err_has "no space left on device"
! grep -q "Sanitizer\|runtime error" "$ERR" || fail "append: sanitizer report"
data_matches "$S" "$K"
run 0 verify "$S" "$K"
rm -rf "$S"

# ---- clone onto a full disk ----
SRC=$WORK/src
run 0 create "$SRC" --name full --no-sync
K=$(cat "$OUT")
run_in 0 "$WORK/input" append "$SRC" "$K" --block-size 4096 --no-sync
SHARE=
"$CLI" share "$SRC" --listen 127.0.0.1:0 >"$WORK/share.out" 2>"$WORK/share.err" &
SHARE=$!
stop_share() {
  [ -n "${SHARE:-}" ] || return 0
  kill -TERM "$SHARE" 2>/dev/null || true
  wait "$SHARE" 2>/dev/null || true
  SHARE=
}
deadline=$((SECONDS + 20))
until grep -q "listening on [0-9.]*:[0-9][0-9]*" "$WORK/share.out"; do
  kill -0 "$SHARE" 2>/dev/null || fail "share exited: $(cat "$WORK/share.err")"
  [ $SECONDS -lt $deadline ] || fail "share did not start"
  sleep 0.02
done
PEER=$(sed -n 's/.*listening on \([0-9.]*:[0-9]*\).*/\1/p' "$WORK/share.out" | head -1)

C=$DISK/c
run 1 clone "$C" "$K" --connect "$PEER" --timeout 5000
err_starts
err_has "no space left on device"
err_has "the local disk failed"
err_has "not the peer"
! grep -q "Sanitizer\|runtime error" "$ERR" || fail "clone: sanitizer report"
stored=$(sed -n 's/.*(not the peer; \([0-9]*\) blocks stored.*/\1/p' "$ERR" | head -1)
[ -n "$stored" ] || fail "clone gives no count of blocks stored"
cp "$ERR" "$WORK/clone.err"
# The count is the truth: a linear clone stores a prefix, and exactly
# that many blocks read back, verified.
run 0 verify "$C" "$K"
cp "$OUT" "$WORK/verify.out"
[ "$stored" -gt 0 ] && [ "$stored" -lt 768 ] || fail "clone stored $stored of 768 blocks on a 2 MiB disk"
grep -q "ok: 768 blocks, [0-9]* bytes, $stored stored here" "$WORK/verify.out" ||
  fail "clone said $stored blocks stored, verify: $(cat "$WORK/verify.out")"
run 0 cat "$C" "$K" --end "$stored"
head -c $((stored * 4096)) "$WORK/input" | cmp -s - "$OUT" || fail "the $stored blocks stored are not the original bytes"
run 1 cat "$C" "$K" --start "$stored" --end $((stored + 1))
# No unreclaimed bytes: data ends at the last stored block.
dir=$(chain_dir "$C" "$K")
[ "$(stat -c %s "$dir/data")" -le $((stored * 4096)) ] || fail "data has $(stat -c %s "$dir/data") bytes, $stored blocks stored"

# ---- space freed: the clone resumes ----
mount -o remount,size=16m "$DISK"
run 0 verify "$C" "$K"
out_has " ok"
run 0 clone "$C" "$K" --connect "$PEER" --timeout 5000
run 0 cat "$C" "$K"
same_file "$OUT" "$WORK/input"
run 0 verify "$C" "$K"
echo "ok: full disk: append and clone report it, the clone stored $stored blocks and resumed"
