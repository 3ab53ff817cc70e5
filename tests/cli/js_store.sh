#!/usr/bin/env bash
# Disk interop with the legacy JS stack (corestore 5.8.2 + hypercore 9.12),
# in both network profiles: the CLI reads stores the JS wrote (profile
# recognised from the chains, keys re-derived from names), appends to them,
# and the JS reads what the CLI wrote. Skipped without node and interop/js.
. "$(dirname "$0")/lib.sh"

need_js_stack
JS=$CHAINSTORE_JS_DIR

for P in bitspace hypercore; do
  D=$WORK/js-$P
  RO=$(printf 'cd%062d' 1)
  node "$JS/store-write.js" --dir "$D" --profile $P --seed 7 \
    --chain default,blocks=20,size=100-3000,batch=4 --chain keypair,blocks=5 \
    --chain namespace:ns1,blocks=3 --chain "key:$RO" >"$WORK/w.json" || fail "store-write.js ($P)"
  [ ! -e "$D/profile" ] || fail "the JS wrote a profile record?"

  # info recognises the profile and lists what the JS wrote.
  run 0 info "$D" --json
  cp "$OUT" "$WORK/info.json"
  [ "$(json_get "$WORK/info.json" "j.profile")" = $P ] || fail "profile of a JS $P store not recognised"
  [ "$(json_get "$WORK/info.json" "j.chains.length")" = 4 ] || fail "info does not list 4 chains"
  # info is read-only: the record is written by the first writer.
  [ ! -e "$D/profile" ] || fail "info (read-only) wrote a profile record"
  for i in 0 1 2 3; do
    K=$(json_get "$WORK/w.json" "j.chains[$i].key")
    for f in discoveryKey length byteLength writable; do
      want=$(json_get "$WORK/w.json" "j.chains[$i].$f")
      got=$(json_get "$WORK/info.json" "j.chains.filter(c => c.key === '$K')[0].$f")
      [ "$want" = "$got" ] || fail "$P chain $i: $f is $got, JS says $want"
    done
    # cat gives the bytes the JS appended.
    want=$(json_get "$WORK/w.json" "j.chains[$i].contentSha256")
    got=$("$CLI" cat "$D" "$K" | sha256sum | cut -d' ' -f1)
    [ "$want" = "$got" ] || fail "$P chain $i: content differs"
  done
  run 0 verify "$D"

  # The CLI appends to the JS chains (name-derived: secret re-derived from
  # the name under the profile's namespace; key pair: from secret_key).
  KD=$(json_get "$WORK/w.json" "j.chains[0].key")
  KP=$(json_get "$WORK/w.json" "j.chains[1].key")
  printf 'from C 1\nfrom C 2\n' >"$WORK/lines"
  run 0 append "$D" "$KD" "$WORK/lines"
  out_is 22
  [ "$(cat "$D/profile")" = $P ] || fail "profile not recorded by a writer"
  run 0 append "$D" "$KP" "$WORK/lines" --batch 1
  out_is 7
  run 1 append "$D" "$RO" "$WORK/lines"
  err_has "Feed is not writable"

  # ... and a chain of its own.
  run 0 create "$D" --name from-c
  KC=$(cat "$OUT")
  run 0 append "$D" "$KC" "$WORK/lines"

  # The JS reads all of it back and checks every head signature.
  node "$JS/store-read.js" --dir "$D" --profile $P --all >"$WORK/r.json" || fail "store-read.js ($P) failed"
  [ "$(json_get "$WORK/r.json" "j.chains.length")" = 5 ] || fail "JS sees $(json_get "$WORK/r.json" "j.chains.length") chains"
  [ "$(json_get "$WORK/r.json" "j.chains.every(c => c.ok && (c.length === 0 || c.headSignature.ok))")" = true ] ||
    fail "JS rejects a chain: $(cat "$WORK/r.json")"
  for K in "$KD" "$KP" "$KC"; do
    [ "$(json_get "$WORK/r.json" "j.chains.filter(c => c.key === '$K')[0].writable")" = true ] || fail "$K not writable in JS"
  done
  want=$(printf 'from C 2' | sha256sum | cut -d' ' -f1)
  [ "$(json_get "$WORK/r.json" "j.chains.filter(c => c.key === '$KD')[0].blocks[21]")" = "$want" ] ||
    fail "JS reads another block 21"
  [ "$(json_get "$WORK/r.json" "j.chains.filter(c => c.key === '$KC')[0].length")" = 2 ] || fail "JS length of the C chain"
done

# The other profile's word does not open these stores.
run 1 info "$WORK/js-hypercore" --profile bitspace
err_has "the store is hypercore, not bitspace"
rm "$WORK/js-bitspace/profile"
run 1 cat "$WORK/js-bitspace" "$KD" --profile hypercore
err_has "the store is bitspace, not hypercore"
echo "ok"
