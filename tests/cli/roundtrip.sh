#!/usr/bin/env bash
# Data in and out: lines, fixed-size blocks, stdin and files, ranges,
# batches, streaming of an input larger than the append buffer, info --json
# (its JSON parsed by a JS engine: info_json.sh).
. "$(dirname "$0")/lib.sh"

D=$WORK/store
run 0 init "$D"
out_has "profile bitspace"
[ -f "$D/master_key" ] && [ "$(stat -c %s "$D/master_key")" = 32 ] || fail "master_key is not 32 bytes"
[ "$(cat "$D/profile")" = bitspace ] || fail "profile record is not 'bitspace'"
run 0 init "$D"
out_has "existing store"

# create: the same name gives the same key; no name gives a new one.
run 0 create "$D" --name lines
K=$(cat "$OUT")
[[ $K =~ ^[0-9a-f]{64}$ ]] || fail "create printed '$K'"
run 0 create "$D" --name lines
out_is "$K"
run 0 create "$D"
R1=$(cat "$OUT")
run 0 create "$D"
[ "$(cat "$OUT")" != "$R1" ] || fail "two random creates gave the same key"

# Lines from stdin ("-" and no FILE), one block each, newline stripped; an
# empty line is an empty block; a last line without newline is a block.
printf 'alpha\nbeta\n\ngamma' >"$WORK/in1"
run_in 0 "$WORK/in1" append "$D" "$K" -
out_is 4
printf 'delta\n' >"$WORK/in2"
run_in 0 "$WORK/in2" append "$D" "$K"
out_is 5
: >"$WORK/empty"
run 0 append "$D" "$K" "$WORK/empty"
out_is 5
run 0 cat "$D" "$K"
out_is "alphabetagammadelta"
run 0 cat "$D" "$K" --start 1 --end 2
out_is "beta"
run 0 cat "$D" "$K" --start 2 --end 3
out_is ""
run 0 cat "$D" "$K" --start 3
out_is "gammadelta"
run 0 cat "$D" "$K" --start 5
out_is ""
run 1 cat "$D" "$K" --end 6
err_has "past the chain's length 5"
run 1 cat "$D" "$K" --start 6
err_has "past the chain's length"

# Raw blocks of N bytes from a file; the last one shorter; batches.
head -c 100000 /dev/urandom >"$WORK/raw"
run 0 create "$D" --name raw
KR=$(cat "$OUT")
run 0 append "$D" "$KR" "$WORK/raw" --block-size 4096 --batch 3
out_is 25
"$CLI" cat "$D" "$KR" >"$WORK/raw.out" || fail "cat failed"
same_file "$WORK/raw" "$WORK/raw.out"
"$CLI" cat "$D" "$KR" --start 24 >"$WORK/last" || fail "cat failed"
[ "$(stat -c %s "$WORK/last")" = $((100000 - 24 * 4096)) ] || fail "last block is not the short remainder"
"$CLI" cat "$D" "$KR" --start 10 --end 12 >"$WORK/mid" || fail "cat failed"
dd if="$WORK/raw" of="$WORK/mid.want" bs=4096 skip=10 count=2 status=none
same_file "$WORK/mid.want" "$WORK/mid"
# --batch 3 signs every third block only (25 blocks: slots 2,5,...,23 and 24).
SIG=$(chain_dir "$D" "$KR")/signatures
nonzero=0
for i in $(seq 0 24); do
  if [ -n "$(od -An -tx1 -v -j $((32 + 64 * i)) -N 64 "$SIG" | tr -d ' 0\n')" ]; then nonzero=$((nonzero + 1)); fi
done
[ $nonzero = 9 ] || fail "expected 9 signatures for 25 blocks in batches of 3, found $nonzero"

# A stream bigger than the append buffer (16 MiB): piped, many batches.
run 0 create "$D" --name big
KB=$(cat "$OUT")
{ head -c $((40 * 1024 * 1024)) /dev/zero | tr '\0' 'x' | fold -w 999; echo; } >"$WORK/big"
lines=$(wc -l <"$WORK/big")
cat "$WORK/big" | "$CLI" append "$D" "$KB" - >"$OUT" 2>"$ERR" || fail "append of a 40 MiB pipe failed"
out_is "$lines"
"$CLI" cat "$D" "$KB" | cmp -s - <(tr -d '\n' <"$WORK/big") || fail "40 MiB round trip differs"
# A line longer than 8 MiB is refused.
run 0 create "$D" --name toolong
KT=$(cat "$OUT")
head -c $((8 * 1024 * 1024 + 1)) /dev/zero | tr '\0' 'y' >"$WORK/long"
run 1 append "$D" "$KT" "$WORK/long"
err_has "less than 8MB"

# A read-only chain (its key only) cannot be appended to.
run 1 append "$D" "$(printf '%064d' 7)" "$WORK/in1"
err_has "No unichain is stored here"

# info: text and JSON.
run 0 info "$D"
out_has "key            $K"
out_has "length         5 blocks, 19 bytes"
out_has "6 chains"
run 0 info "$D" --json
cp "$OUT" "$WORK/info.json"
# (parsed as JSON by cli_info_json, which needs node)
grep -q "\"key\": \"$K\", \"length\": 5, \"byteLength\": 19, \"writable\": true, \"live\": true" "$WORK/info.json" ||
  fail "info --json entry of $K"

run 0 verify "$D"
out_has "$K ok: 5 blocks, 19 bytes"
run 0 verify "$D" "$KR"
out_has "$KR ok: 25 blocks"

# demo: the round trip in a temporary directory, removed afterwards.
mkdir "$WORK/tmp"
TMPDIR=$WORK/tmp "$CLI" demo --mib 1 >"$OUT" 2>"$ERR" || fail "demo failed"
out_has "compare  all 1024 blocks are identical"
out_has "demo ok"
[ -z "$(ls -A "$WORK/tmp")" ] || fail "demo left files in TMPDIR"
TMPDIR=$WORK/tmp "$CLI" demo --mib 1 --profile hypercore >"$OUT" 2>"$ERR" || fail "demo (hypercore) failed"
out_has "profile hypercore"
echo "ok"
