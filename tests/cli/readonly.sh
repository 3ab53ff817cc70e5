#!/usr/bin/env bash
# Read-only commands on a read-only bind mount of a store (issue 14): info,
# cat and verify work, write nothing, and a writer is refused with the
# system's cause. A writer holding the store does not lock readers out.
# Needs root for a mount namespace: exit 77 (skip) without.
. "$(dirname "$0")/lib.sh"

D=$WORK/store
run 0 create "$D" --name ro
K=$(cat "$OUT")
seq -f 'line-%04g' 0 499 >"$WORK/in"
run 0 append "$D" "$K" "$WORK/in" --batch 50
out_is 500

# Readers beside a writer (readers_writer.sh runs them at the same time).
sum=$(find "$D" -type f -exec md5sum {} + | sort)
run 0 info "$D"
run 0 verify "$D"
run 0 cat "$D" "$K"
same_file "$OUT" <(tr -d '\n' <"$WORK/in")
[ "$(find "$D" -type f -exec md5sum {} + | sort)" = "$sum" ] || fail "a read-only command changed the store"

# A directory without a store: nothing is created in it.
mkdir "$WORK/empty"
for cmd in info verify; do
  run 1 $cmd "$WORK/empty"
  err_has "no such store"
done
run 1 cat "$WORK/empty" "$K"
[ -z "$(ls -A "$WORK/empty")" ] || fail "a read command created files in a directory without a store"

# A malformed master_key is an error and is never replaced.
cp -a "$D" "$WORK/mk"
head -c 10 /dev/urandom >"$WORK/mk/master_key"
for cmd in info verify; do
  run 1 $cmd "$WORK/mk"
  err_has "master_key is missing or not 32 bytes"
done
run 1 append "$WORK/mk" "$K" "$WORK/in"
err_has "master_key is missing or not 32 bytes"
[ "$(stat -c %s "$WORK/mk/master_key")" = 10 ] || fail "master_key was replaced"

if [ "$(id -u)" != 0 ] || ! unshare -m true 2>/dev/null; then
  echo "SKIP: read-only bind mount needs root and mount namespaces"
  exit 77
fi
# Inside a private mount namespace: the store bind-mounted read-only onto itself.
cat >"$WORK/inner.sh" <<INNER
set -e
mount --bind "$D" "$D"
mount -o remount,ro,bind "$D"
"$CLI" info "$D" >"$WORK/ro.info" 2>"$WORK/ro.info.err"
"$CLI" verify "$D" >"$WORK/ro.verify" 2>"$WORK/ro.verify.err"
"$CLI" cat "$D" "$K" >"$WORK/ro.cat" 2>"$WORK/ro.cat.err"
rc=0; "$CLI" append "$D" "$K" "$WORK/in" >"$WORK/ro.append" 2>"$WORK/ro.append.err" || rc=\$?
echo \$rc >"$WORK/ro.append.rc"
INNER
unshare -m bash "$WORK/inner.sh" || { cat "$WORK"/ro.*.err >&2; fail "a read-only command failed on a read-only mount"; }
grep -q "500 blocks" "$WORK/ro.info" || fail "info on a read-only mount: $(cat "$WORK/ro.info")"
grep -q "$K ok: 500 blocks" "$WORK/ro.verify" || fail "verify on a read-only mount: $(cat "$WORK/ro.verify")"
same_file "$WORK/ro.cat" <(tr -d '\n' <"$WORK/in")
[ "$(cat "$WORK/ro.append.rc")" = 1 ] || fail "append on a read-only mount did not fail"
grep -q "read-only file system" "$WORK/ro.append.err" || fail "append on a read-only mount: $(cat "$WORK/ro.append.err")"
echo "ok"
