#!/usr/bin/env bash
# Every file of a store, every kind of damage (issue 14): truncated to half,
# emptied, extended with garbage, one byte flipped (at three places). Then
# info, verify, cat and append: never a crash, never a wrong byte with exit
# 0, never a stored signature overwritten, always a message on failure.
. "$(dirname "$0")/lib.sh"

P=$WORK/pristine
run 0 create "$P" --name loop
K=$(cat "$OUT")
seq -f 'block-%04g' 0 199 >"$WORK/in" # 200 blocks of 10 bytes
run 0 append "$P" "$K" "$WORK/in" --batch 16 --no-sync
tr -d '\n' <"$WORK/in" >"$WORK/content"
PDIR=$(chain_dir "$P" "$K")
REL=${PDIR#"$P"/}

# A crash is an exit code of 128 or more (a signal) or a sanitizer report.
no_crash() {
  local code=$1 what=$2
  [ "$code" -lt 128 ] || fail "$what: killed by signal $((code - 128))"
  ! grep -q "Sanitizer\|runtime error" "$ERR" || fail "$what: sanitizer report"
  [ "$code" = 0 ] || [ "$code" = 1 ] || fail "$what: exit $code"
  [ "$code" = 0 ] || err_starts
}

try() { # try WHAT ARGS... : runs the CLI, any exit code; sets $CODE
  local what=$1
  shift
  CODE=0
  "$CLI" "$@" >"$OUT" 2>"$ERR" || CODE=$?
  no_crash "$CODE" "$what"
}

damage() { # damage FILE KIND
  local f=$1 kind=$2 size
  size=$(stat -c %s "$f")
  case $kind in
  half) truncate -s $((size / 2)) "$f" ;;
  empty) : >"$f" ;;
  garbage) head -c 777 /dev/urandom >>"$f" ;;
  flip-first) [ "$size" -gt 0 ] && flip_byte "$f" 0 || true ;;
  flip-middle) [ "$size" -gt 0 ] && flip_byte "$f" $((size / 2)) || true ;;
  flip-last) [ "$size" -gt 0 ] && flip_byte "$f" $((size - 1)) || true ;;
  esac
}

cases=0
for file in bitfield tree data signatures key name ../../../master_key ../../../profile; do
  for kind in half empty garbage flip-first flip-middle flip-last; do
    D=$WORK/case
    rm -rf "$D"
    cp -a "$P" "$D"
    damage "$D/$REL/$file" $kind
    label="$file/$kind"
    cases=$((cases + 1))

    try "$label: info" info "$D"
    try "$label: verify" verify "$D"
    try "$label: verify KEY" verify "$D" "$K"

    # cat: exit 0 only with exactly the original bytes of a prefix.
    try "$label: cat" cat "$D" "$K"
    if [ "$CODE" = 0 ]; then
      n=$(stat -c %s "$OUT")
      cmp -s -n "$n" "$OUT" "$WORK/content" || fail "$label: cat printed a wrong byte with exit 0"
    fi

    # append: never over a signature that is on disk.
    sigs=$D/$REL/signatures
    before=$WORK/sigs.before
    if [ -f "$sigs" ]; then cp "$sigs" "$before"; else : >"$before"; fi
    printf 'extra-1\nextra-2\n' >"$WORK/extra"
    try "$label: append" append "$D" "$K" "$WORK/extra" --no-sync
    if [ "$CODE" = 0 ] && [ -s "$before" ]; then
      slots=$(($(stat -c %s "$before") / 64))
      for ((s = 0; s < slots; s++)); do
        old=$(od -An -tx1 -v -j $((32 + 64 * s)) -N 64 "$before" | tr -d ' \n')
        [ -z "$old" ] && continue
        [ "$old" = "$(printf '0%.0s' {1..128})" ] && continue
        new=$(od -An -tx1 -v -j $((32 + 64 * s)) -N 64 "$sigs" | tr -d ' \n')
        [ "$old" = "$new" ] || fail "$label: append overwrote the signature in slot $s"
      done
      # The chain still reads back as the original followed by the new blocks.
      try "$label: cat after append" cat "$D" "$K"
      if [ "$CODE" = 0 ]; then
        n=$(stat -c %s "$OUT")
        { cat "$WORK/content"; printf 'extra-1extra-2'; } >"$WORK/content2"
        cmp -s -n "$n" "$OUT" "$WORK/content2" || fail "$label: cat after append printed a wrong byte"
      fi
    fi
    # verify --repair leaves a store that verifies (or says why not).
    try "$label: verify --repair" verify "$D" --repair
    try "$label: verify after repair" verify "$D"
  done
done
echo "ok: $cases cases"
