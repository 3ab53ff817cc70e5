#!/usr/bin/env bash
# The JS stack switched to the bitspace profile (interop/js/profile-bitspace.js)
# derives the vector keys of tests/vectors/chainstore/derivation.json, and the
# unswitched stack the upstream ones: the JS peer of every other interop test
# really speaks the profile it is told to.
source "$(dirname "$0")/lib.sh"
require_js
step node "$JS_DIR/profile-check.js" "$VECTORS"
