#!/usr/bin/env bash
# The largest block the CLI accepts (UNICHAIN_MAX_BLOCK_BYTES, 8 MiB)
# replicates C<->C: the frame limit leaves room for the block and its proof.
# Runs in a network namespace (demo listens on 127.0.0.1).
if [ -z "${NETNS_RUN_NS:-}" ]; then
  exec "$(dirname "$0")/../tools/netns-run" bash "$0" "$@"
fi
. "$(dirname "$0")/lib.sh"
mkdir -p "$WORK/tmp"
TMPDIR=$WORK/tmp run 0 demo --mib 16 --block-size 8388608 --timeout 60000 --request-timeout 60000
out_has "2 blocks of 8388608 bytes"
out_has "compare  all 2 blocks are identical"
out_has "demo ok"
