#!/usr/bin/env bash
# store_c_to_js.sh PROFILE
#
# A store written by the C command line (`chainstore init/create/append`) is
# read by the legacy JS corestore 5 / hypercore 9 (interop/js/store-read.js),
# switched to PROFILE: every chain opens, is writable (the JS re-derives the
# key pair from the stored name with the profile's namespace), has the same
# length and the same blocks (SHA-256 block for block), and its head
# signature verifies. Chains: named (default, foo, big) and one with a random
# 32-byte name; blocks from fixed-size binary input in odd batches, line
# input with empty blocks, one append call per variable-size block, and a
# single batch of 64 KiB blocks. The JS in the other profile must not get
# writable chains out of the same store.
source "$(dirname "$0")/lib.sh"
profile=${1:?usage: store_c_to_js.sh bitspace|hypercore}
other=$(other_profile "$profile")
require_js
require_cli
make_tmp "c2js-$profile"
pick_seed
S=$TMP/store
G=$TMP/gen
cs() { "$CLI" "$@"; }

step cs init "$S" --profile "$profile"
[ "$(cat "$S/profile")" = "$profile" ] || fail "store profile record is not $profile"

k_default=$(step cs create "$S" --name default --profile "$profile")
k_foo=$(step cs create "$S" --name foo --profile "$profile")
k_big=$(step cs create "$S" --name big --profile "$profile")
k_rand=$(step cs create "$S" --profile "$profile")
echo "chains: default $k_default foo $k_foo big $k_big random-name $k_rand"
[ "$(cs create "$S" --name foo)" = "$k_foo" ] || fail "create --name foo twice gave two keys"

gen() { js gen-blocks.js --seed "$SEED" --out "$G/$1" --tag "$1" "${@:2}" > "$G/$1.json"; }
mkdir -p "$G"

# foo: 300 x 4 KiB binary blocks in batches of 7, then 40 text lines (some empty), one per call.
gen foo1 --count 300 --size 4096
step cs append "$S" "$k_foo" "$G/foo1/all.bin" --block-size 4096 --batch 7 --profile "$profile" >/dev/null
gen foo2 --count 40 --size 0-200 --text
step cs append "$S" "$k_foo" "$G/foo2/all.bin" --batch 1 >/dev/null

# random-name chain: text lines, default batch (one signature).
gen rand --count 25 --size 0-3 --text
step cs append "$S" "$k_rand" - < "$G/rand/all.bin" >/dev/null

# default: 12 binary blocks of 1..9000 bytes, one append call each.
gen var --count 12 --size 1-9000
for f in "$G"/var/blocks/*; do
  cs append "$S" "$k_default" "$f" --block-size "$(stat -c %s "$f")" >/dev/null
done

# big: 40 x 64 KiB in one batch.
gen big --count 40 --size 65536
step cs append "$S" "$k_big" "$G/big/all.bin" --block-size 65536 >/dev/null

step cs verify "$S"
step cs info "$S"

read_json=$TMP/read.json
step js store-read.js --dir "$S" --profile "$profile" --all --name foo --name default --namespace big > "$read_json"
step js check.js read --read "$read_json" --exact \
  --chain "$k_foo=$G/foo1.json+$G/foo2.json" \
  --chain "$k_rand=$G/rand.json" \
  --chain "$k_default=$G/var.json" \
  --chain "$k_big=$G/big.json"

# The C side still reads the store after the JS opened it.
step cs verify "$S" --profile "$profile"

# The other profile derives other key pairs and other chain directories.
cp -a "$S" "$TMP/copy"
step js store-read.js --dir "$TMP/copy" --profile "$other" --all --name foo --no-blocks --allow-errors > "$TMP/other.json"
step js check.js mismatch --read "$TMP/other.json" --key "$k_foo" --key "$k_default" --key "$k_big" --key "$k_rand"
echo "PASS: C store ($profile) read by JS corestore 5"
