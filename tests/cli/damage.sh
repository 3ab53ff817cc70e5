#!/usr/bin/env bash
# Failures: unknown keys, missing or damaged stores, flipped data bytes,
# profile mismatches. Always a message and exit 1, never a crash.
. "$(dirname "$0")/lib.sh"

D=$WORK/store
run 0 create "$D" --name victim
K=$(cat "$OUT")
seq -f 'block-%03g' 0 99 >"$WORK/in" # 100 blocks of 9 bytes
run 0 append "$D" "$K" "$WORK/in" --batch 10
out_is 100

# Unknown key: message, exit 1, and nothing created.
U=$(printf 'ab%062d' 0)
before=$(find "$D" | wc -l)
for cmd in cat append verify; do
  run 1 $cmd "$D" "$U"
  err_starts
  err_has "$U: No unichain is stored here"
done
[ "$(find "$D" | wc -l)" = "$before" ] || fail "an unknown key created files"

# A store that does not exist is not created by read commands.
for cmd in info verify; do
  run 1 $cmd "$WORK/nostore"
  err_has "no such store"
done
run 1 cat "$WORK/nostore" "$K"
[ ! -e "$WORK/nostore" ] || fail "a read command created the store"

# Flip one byte of block 37: verify names it and fails, writes nothing and
# forgets nothing (a second run says the same); cat stops before the bad
# block with an error naming it, and never prints its bytes with exit 0.
DIR=$(chain_dir "$D" "$K")
flip_byte "$DIR/data" $((9 * 37 + 4))
sum_before=$(cat "$DIR"/* | md5sum)
run 1 verify "$D" "$K"
out_has "$K damaged: block 37 does not match its hash"
err_has "1 chain damaged"
run 1 verify "$D"
out_has "$K damaged: block 37"
[ "$(cat "$DIR"/* | md5sum)" = "$sum_before" ] || fail "verify wrote to the store"
run 1 cat "$D" "$K" --start 30 --end 40
err_has "$K block 37: stored block does not match its hash"
grep -q "block-037" "$OUT" && fail "cat printed the damaged block"
run 0 cat "$D" "$K" --start 36 --end 37
out_is "block-036"
# --no-verify trusts the disk: the damaged bytes come out.
run 0 cat "$D" "$K" --start 37 --end 38 --no-verify
# --repair drops the block and says so; verify then reports it missing.
run 1 verify "$D" "$K" --repair
out_has "$K repaired: "
out_has "block 37"
run 1 cat "$D" "$K" --start 37 --end 38
err_has "block 37: not stored here"

# Damaged signature: verify fails.
run 0 create "$D" --name sig
KS=$(cat "$OUT")
run 0 append "$D" "$KS" "$WORK/in"
flip_byte "$(chain_dir "$D" "$KS")/signatures" $((32 + 64 * 50 + 10))
run 1 verify "$D" "$KS"
out_has "$KS damaged"

# Damaged tree node: verify reports the block under it.
run 0 create "$D" --name tree
KT=$(cat "$OUT")
run 0 append "$D" "$KT" "$WORK/in"
flip_byte "$(chain_dir "$D" "$KT")/tree" $((32 + 40 * 2 * 12 + 3))
run 1 verify "$D" "$KT"
out_has "$KT damaged: tree node 25 does not hash from its children: blocks 12-13"
out_has "$KT damaged: block 12 does not match"

# Garbage in a chain's key file: info and verify report that chain, exit 1,
# and still describe the others.
run 0 create "$D" --name keyjunk
KJ=$(cat "$OUT")
KJDIR=$(chain_dir "$D" "$KJ")
head -c 32 /dev/zero >"$KJDIR/key"
run 1 info "$D"
out_has "error          Another unichain is stored here"
out_has "key            $KS"
err_has "Another unichain is stored here"
run 1 info "$D" --json
out_has '"error": "Another unichain is stored here: its `key` file does not match'
run 1 verify "$D"
out_has "damaged: Another unichain is stored here"
# A truncated key file: that chain is gone for the store.
head -c 7 /dev/zero >"$KJDIR/key"
run 1 cat "$D" "$KJ"
err_has "No unichain is stored here"
rm -rf "$KJDIR"

# Truncated data file: reading past it is an error, not a crash.
truncate -s 100 "$DIR/data"
run 1 cat "$D" "$K" --start 50 --end 60
err_starts

# Profile mismatch: explicit profile against the store's, both ways.
run 1 create "$D" --profile hypercore
err_has "network profile does not match the store (the store is bitspace, not hypercore)"
run 1 info "$D" --profile hypercore
err_has "does not match"
H=$WORK/hstore
run 0 init "$H" --profile hypercore
out_has "profile hypercore"
run 1 init "$H" --profile bitspace
err_has "the store is hypercore, not bitspace"
run 0 create "$H" --name x
KH=$(cat "$OUT")
run 0 append "$H" "$KH" "$WORK/in"
# Without the record the store is recognised from its chains.
rm "$H/profile"
run 1 append "$H" "$KH" "$WORK/in" --profile bitspace
err_has "the store is hypercore, not bitspace"
run 0 info "$H"
out_has "profile hypercore"
[ ! -e "$H/profile" ] || fail "info (read-only) wrote the profile record"
run 0 append "$H" "$KH" "$WORK/in" --profile hypercore
out_is 200
[ "$(cat "$H/profile")" = hypercore ] || fail "profile not recorded again"
# A damaged record.
printf 'hyperbit\n' >"$H/profile"
run 1 info "$H"
err_has "unreadable 'profile' file"
# Not a directory.
: >"$WORK/file"
run 1 info "$WORK/file"
err_starts
echo "ok"
