#!/usr/bin/env bash
# Every test: builds with clang under AddressSanitizer + UndefinedBehaviorSanitizer
# (plus the libFuzzer targets) and runs the whole suite once through ctest:
# unit, vector, CLI, crash-safety and interop tests, and each fuzz target for
# a few seconds on its corpus. The release build (gcc) is compiled too, so both
# compilers' warnings stay errors.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh --js
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release -DCHAINSTORE_BUILD_TESTS=OFF >/dev/null
cmake --build build/release -j"$(nproc)" >/dev/null
CC=clang cmake -S . -B build/test -DCMAKE_BUILD_TYPE=Debug -DCHAINSTORE_SANITIZE=ON \
  -DCHAINSTORE_BUILD_FUZZ=ON -DCHAINSTORE_BUILD_BENCH=OFF >/dev/null
cmake --build build/test -j"$(nproc)"
cd build/test
exec ctest --output-on-failure --timeout 600 -j"${CHAINSTORE_TEST_JOBS:-2}"
