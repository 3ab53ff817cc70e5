#!/usr/bin/env bash
# store_js_to_c.sh PROFILE
#
# A store written by the legacy JS corestore 5 / hypercore 9
# (interop/js/store-write.js, switched to PROFILE) is read by the C command
# line: `chainstore info --json` recognises the profile and shows the same
# chains with the same keys, discovery keys, lengths, byte lengths and
# writability (name-derived chains are writable only if C re-derives the same
# key pair from the `name` file); `chainstore cat` gives every chain back
# block for block (whole and in single-block ranges); `chainstore verify`
# passes; and the JS still reads everything unchanged afterwards.
# Chains: default, named, namespaced, random-name, explicit key pair
# (secret_key file) and key only (read-only, no blocks).
source "$(dirname "$0")/lib.sh"
profile=${1:?usage: store_js_to_c.sh bitspace|hypercore}
other=$(other_profile "$profile")
require_js
require_cli
make_tmp "js2c-$profile"
pick_seed
S=$TMP/store
W=$TMP/written.json
cs() { "$CLI" "$@"; }

step js store-write.js --dir "$S" --profile "$profile" --seed "$SEED" \
  --chain default,blocks=5,size=100 \
  --chain name:foo,blocks=200,size=0-5000,batch=3 \
  --chain namespace:ns1,blocks=20,size=1-300 \
  --chain random,blocks=30,size=512 \
  --chain keypair,blocks=64,size=65536,batch=64 \
  --chain "key:$(random_key_hex),blocks=0" > "$W"

# Profile recognised from the chain directories (no profile record from the JS).
[ ! -e "$S/profile" ] || fail "the JS wrote a profile record?"
step cs info "$S" --json > "$TMP/info.json"
step js check.js info --written "$W" --info "$TMP/info.json" --profile "$profile"
step cs info "$S" --json --profile "$profile" > "$TMP/info2.json"
step js check.js info --written "$W" --info "$TMP/info2.json" --profile "$profile"
expect_exit 1 cs info "$S" --json --profile "$other"

# Every chain, whole and block by block at a few seeded indexes.
mapfile -t chains < <(node -e '
  const w = require(process.argv[1])
  for (const c of w.chains) console.log(c.key + " " + c.length)' "$W")
RANDOM=$SEED
for line in "${chains[@]}"; do
  key=${line% *} len=${line#* }
  step cs cat "$S" "$key" > "$TMP/cat.bin"
  js check.js blocks --written "$W" --key "$key" --file "$TMP/cat.bin"
  if [ "$len" -gt 0 ]; then
    for _ in 1 2 3; do
      i=$((RANDOM % len))
      cs cat "$S" "$key" --start "$i" --end $((i + 1)) > "$TMP/one.bin"
      js check.js blocks --written "$W" --key "$key" --file "$TMP/one.bin" --start "$i" --end $((i + 1))
    done
    mid=$((len / 2))
    cs cat "$S" "$key" --start "$mid" > "$TMP/tail.bin"
    js check.js blocks --written "$W" --key "$key" --file "$TMP/tail.bin" --start "$mid"
  fi
done

step cs verify "$S" --profile "$profile"

# The JS still reads what it wrote after the C side opened, read and audited it.
step js store-read.js --dir "$S" --profile "$profile" --all > "$TMP/reread.json"
step js check.js same --written "$W" --read "$TMP/reread.json"
echo "PASS: JS corestore 5 store ($profile) read by C"
