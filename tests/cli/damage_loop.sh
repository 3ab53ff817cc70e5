#!/usr/bin/env bash
# Every file of a store, every kind of damage (issue 14): truncated to half,
# emptied, extended with garbage, one byte flipped (at three places). Then
# info, verify, cat and append: never a crash, never a wrong byte with exit
# 0, never a stored signature overwritten, always a message on failure.
. "$(dirname "$0")/lib.sh"

damage_setup

cases=0
for file in $DAMAGE_FILES; do
  for kind in $DAMAGE_KINDS; do
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
    [ "$CODE" != 0 ] || out_is_prefix_of "$WORK/content" "$label: cat"

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
      { cat "$WORK/content"; printf 'extra-1extra-2'; } >"$WORK/content2"
      [ "$CODE" != 0 ] || out_is_prefix_of "$WORK/content2" "$label: cat after append"
    fi
    # verify --repair leaves a store that verifies (or says why not).
    try "$label: verify --repair" verify "$D" --repair
    try "$label: verify after repair" verify "$D"
  done
done
echo "ok: $cases cases"
