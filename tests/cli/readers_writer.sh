#!/usr/bin/env bash
# Readers beside a writer (issue 14): while `append` runs in a loop of many
# small batches, `cat`, `info` and `verify` run over and over; none fails,
# and every output is a prefix of the final chain. Then the lock scheme: a
# writer starts while a reader holds the store, a second writer is refused
# and told the first one's pid, and `verify --repair` is refused beside a
# reader. No sleep synchronises anything: loops end on a deadline or when
# the writer is done, and a reader is held open through a FIFO.
. "$(dirname "$0")/lib.sh"

D=$WORK/store
run 0 create "$D" --name rw
K=$(cat "$OUT")
SECONDS_TO_RUN=${READERS_WRITER_SECONDS:-3}

# Two writers in turn: a loop of `append` runs of 40 lines in batches of
# 1..3 blocks (each run opens the store anew, and its open drops nothing a
# reader sees; readers also load while no writer holds the store), then one
# `append` that streams lines in batches of 2 for as long (a writer holding
# the store throughout). Both record what the chain holds in $WORK/all.
: >"$WORK/all"
# A phase goes on until its deadline, and until each reader has run
# twice in it (a loaded machine slows the readers, never the verdict).
going() {
  [ ! -e "$WORK/r1.fail" ] && [ ! -e "$WORK/r2.fail" ] &&
    { [ "$SECONDS" -lt "$1" ] || [ ! -e "$WORK/r1.$2.ran2" ] || [ ! -e "$WORK/r2.$2.ran2" ]; }
}
writer_loop() {
  local n=0 end=$((SECONDS + SECONDS_TO_RUN)) batch
  while going "$end" writer_loop; do
    seq -f "w$n-%02g" 0 39 >"$WORK/chunk"
    batch=$((n % 3 + 1))
    "$CLI" append "$D" "$K" "$WORK/chunk" --batch "$batch" --no-sync >"$WORK/w.out" 2>"$WORK/w.err" ||
      { echo "writer: append failed: $(cat "$WORK/w.err")" >"$WORK/writer.fail"; return 0; }
    cat "$WORK/chunk" >>"$WORK/all"
    n=$((n + 1))
  done
  echo "$n" >"$WORK/writer.runs"
}
writer_stream() {
  local n=0 end=$((SECONDS + SECONDS_TO_RUN))
  while going "$end" writer_stream; do
    seq -f "s$n-%02g" 0 39
    n=$((n + 1))
  done | tee -a "$WORK/all" | "$CLI" append "$D" "$K" - --batch 2 --no-sync >"$WORK/w.out" 2>"$WORK/w.err" ||
    echo "writer: streaming append failed: $(cat "$WORK/w.err")" >"$WORK/writer.fail"
}

# A reader: cat, info and verify in turn until the writer is done.
reader() {
  local id=$1 phase=$2 i=0 len
  while [ ! -e "$WORK/writer.done" ]; do
    i=$((i + 1))
    "$CLI" cat "$D" "$K" >"$WORK/r$id.cat.$phase.$i" 2>"$WORK/r$id.err" ||
      { echo "cat failed: $(cat "$WORK/r$id.err")" >"$WORK/r$id.fail"; return 0; }
    [ -s "$WORK/r$id.err" ] && { echo "cat said: $(cat "$WORK/r$id.err")" >"$WORK/r$id.fail"; return 0; }
    "$CLI" info "$D" >"$WORK/r$id.info" 2>"$WORK/r$id.err" ||
      { echo "info failed: $(cat "$WORK/r$id.err")" >"$WORK/r$id.fail"; return 0; }
    [ -s "$WORK/r$id.err" ] && { echo "info said: $(cat "$WORK/r$id.err")" >"$WORK/r$id.fail"; return 0; }
    "$CLI" verify "$D" "$K" >"$WORK/r$id.verify" 2>"$WORK/r$id.err" ||
      { echo "verify failed: $(cat "$WORK/r$id.verify" "$WORK/r$id.err")" >"$WORK/r$id.fail"; return 0; }
    [ -s "$WORK/r$id.err" ] && { echo "verify said: $(cat "$WORK/r$id.err")" >"$WORK/r$id.fail"; return 0; }
    len=$(sed -n "s/^$K ok: \([0-9]*\) blocks.*/\1/p" "$WORK/r$id.verify")
    [ -n "$len" ] || { echo "verify said: $(cat "$WORK/r$id.verify")" >"$WORK/r$id.fail"; return 0; }
    echo "$len" >>"$WORK/r$id.lengths"
    touch "$WORK/r$id.$phase.ran$i"
  done
  echo "$i" >"$WORK/r$id.runs"
}

for w in writer_loop writer_stream; do
  rm -f "$WORK/writer.done"
  ($w; touch "$WORK/writer.done") &
  wpid=$!
  reader 1 "$w" &
  r1=$!
  reader 2 "$w" &
  r2=$!
  wait "$wpid" "$r1" "$r2"
  [ ! -e "$WORK/writer.fail" ] || fail "$(cat "$WORK/writer.fail")"
  for id in 1 2; do
    [ ! -e "$WORK/r$id.fail" ] || fail "$w, reader $id: $(cat "$WORK/r$id.fail")"
  done
done

# The final chain; every reader's output is a prefix of it, and a length
# verify reported is one the chain had (a prefix: never past its end).
run 0 cat "$D" "$K"
tr -d '\n' <"$WORK/all" >"$WORK/final"
same_file "$OUT" "$WORK/final"
total=$(wc -l <"$WORK/all")
cats=0
for f in "$WORK"/r?.cat.*.*; do
  size=$(stat -c %s "$f")
  cmp -s -n "$size" "$f" "$WORK/final" || fail "$f is not a prefix of the final chain"
  cats=$((cats + 1))
done
for id in 1 2; do
  while read -r len; do
    [ "$len" -le "$total" ] || fail "reader $id: verify reported $len blocks, the chain has $total"
  done <"$WORK/r$id.lengths"
done
echo "writer runs: $(cat "$WORK/writer.runs"), blocks: $total, reader outputs checked: $cats"

# A reader held open: `cat` of more than a pipe and its output buffer hold
# blocks writing into a FIFO read one byte at a time.
head -c 1048576 /dev/zero | tr '\0' 'b' >"$WORK/big"
run 0 append "$D" "$K" "$WORK/big" --block-size 65536 --no-sync
total=$((total + 16))
mkfifo "$WORK/fifo"
"$CLI" cat "$D" "$K" >"$WORK/fifo" 2>"$WORK/held.err" &
held=$!
exec 3<"$WORK/fifo" # opens once the reader has opened it for writing
# ... and it holds the store only after it has opened it: wait for its first byte.
head -c 1 <&3 >/dev/null
# A writer starts beside it.
echo "beside-a-reader" >"$WORK/one"
run 0 append "$D" "$K" "$WORK/one" --no-sync
out_is $((total + 1))
# verify --repair needs no reader: refused, naming the reader.
run 1 verify "$D" --repair
err_has "in use by pid $held"
# Two writers: the second is refused with the first one's pid. The first
# is held with its input on a FIFO it is blocked reading.
mkfifo "$WORK/win"
"$CLI" append "$D" "$K" "$WORK/win" --no-sync >"$WORK/held.w.out" 2>"$WORK/held.w.err" &
wheld=$!
exec 4>"$WORK/win"
# The first writer holds the store once it reads its input: probe with a
# third writer until it is refused (a deadline, not a sleep).
deadline=$((SECONDS + 30))
while :; do
  got=0
  "$CLI" append "$D" "$K" "$WORK/one" --no-sync >"$OUT" 2>"$ERR" || got=$?
  [ "$got" = 1 ] && break
  [ "$SECONDS" -lt "$deadline" ] || fail "a second writer was never refused"
  echo "beside-a-reader" >>"$WORK/all.extra"
done
err_has "in use by pid $wheld"
exec 4>&-
wait "$wheld" || fail "the held writer failed: $(cat "$WORK/held.w.err")"
cat <&3 >/dev/null
exec 3<&-
wait "$held" || fail "the held reader failed: $(cat "$WORK/held.err")"
run 0 verify "$D" "$K"
out_has "$K ok"
echo "ok"
