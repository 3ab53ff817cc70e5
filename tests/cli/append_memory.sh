#!/usr/bin/env bash
# `append` bounds its memory by bytes, whatever the block count: 1-byte
# blocks in batches of up to a million (each block costs the library ~100
# bytes until its batch is signed) stay near the input buffer, not ~100 MB.
# Peak RSS measured with GNU time (skipped without it).
. "$(dirname "$0")/lib.sh"
if [ ! -x /usr/bin/time ]; then
  echo "SKIP: GNU time (/usr/bin/time) is not installed (apt-get install time)"
  exit 77
fi
# ASan keeps freed memory in quarantine; this measures what the program holds.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=0:detect_leaks=0"
LIMIT_KB=$((40 * 1024))

D=$WORK/store
run 0 init "$D"
head -c $((768 * 1024)) /dev/urandom >"$WORK/in"
for batch in 1024 1048576; do
  run 0 create "$D" --name "b$batch"
  K=$(cat "$OUT")
  /usr/bin/time -o "$WORK/rss" -f %M "$CLI" append "$D" "$K" "$WORK/in" --block-size 1 --batch $batch \
    >"$OUT" 2>"$ERR" || fail "append --block-size 1 --batch $batch failed"
  out_is $((768 * 1024))
  rss=$(tail -n1 "$WORK/rss")
  echo "append --block-size 1 --batch $batch: peak RSS $rss KiB (limit $LIMIT_KB KiB)"
  [ "$rss" -le $LIMIT_KB ] || fail "append --block-size 1 --batch $batch peaked at $rss KiB"
done
"$CLI" cat "$D" "$K" | cmp -s - "$WORK/in" || fail "the blocks differ from the input"
echo ok
