#!/usr/bin/env bash
# Every test: builds with clang under AddressSanitizer + UndefinedBehaviorSanitizer
# (plus the libFuzzer targets) and runs the whole suite once through ctest:
# unit, vector, CLI, crash-safety and interop tests, and each fuzz target for
# a few seconds on its corpus. A second build with gcc (Release, unsanitized:
# library, CLI, tests and benches) is compiled but not run, so both compilers'
# warnings stay errors here (CHAINSTORE_WERROR; a user's plain build keeps
# them warnings).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh --js
CC=gcc cmake -S . -B build/gcc -DCMAKE_BUILD_TYPE=Release -DCHAINSTORE_WERROR=ON \
  -DCHAINSTORE_BUILD_TESTS=ON -DCHAINSTORE_BUILD_BENCH=ON >/dev/null
cmake --build build/gcc -j"$(nproc)" >/dev/null
CC=clang cmake -S . -B build/test -DCMAKE_BUILD_TYPE=Debug -DCHAINSTORE_SANITIZE=ON -DCHAINSTORE_WERROR=ON \
  -DCHAINSTORE_BUILD_FUZZ=ON -DCHAINSTORE_BUILD_BENCH=OFF >/dev/null
cmake --build build/test -j"$(nproc)"

# A program that cannot run its cases (no root for a network namespace) must
# be reported skipped (77), never passed: run one as an unprivileged user.
unprivileged() {
  if [ "$(id -u)" -ne 0 ]; then "$@"; return; fi
  setpriv --reuid=nobody --regid=nogroup --clear-groups --reset-env "$@"
}
rc=0
unprivileged build/test/tests/dht/test_dht_uv >build/test/skip-check.log 2>&1 || rc=$?
if [ "$rc" -ne 77 ]; then
  echo "test_dht_uv run without root exited $rc, not 77 (skipped):" >&2
  cat build/test/skip-check.log >&2
  exit 1
fi
rc=0
CHAINSTORE_JS_DIR=/nonexistent CHAINSTORE_CLI=build/test/tools/chainstore \
  build/test/tests/crash/crash_append --js >>build/test/skip-check.log 2>&1 || rc=$?
if [ "$rc" -ne 77 ]; then
  echo "crash_append --js without the JS stack exited $rc, not 77 (skipped):" >&2
  cat build/test/skip-check.log >&2
  exit 1
fi
echo "without root or the JS stack: test_dht_uv and crash_append --js skipped (exit 77), as they must be"

# A benchmark without node says what is missing and how to install it, in
# one line, instead of a failed JS row (PATH without node; its sockets in a
# network namespace).
nonode=$(mktemp -d)
for f in /usr/bin/* /bin/* /usr/sbin/* /sbin/*; do
  n=$(basename "$f")
  [ "$n" = node ] || [ -e "$nonode/$n" ] || ln -s "$f" "$nonode/$n"
done
bench_out=$(PATH=$nonode tests/tools/netns-run build/gcc/bench/replicate/bench_replicate --mib 1 --rounds 1 \
  --sizes 65536 2>&1) || true
rm -rf "$nonode"
if grep -q "^SKIP: netns-run" <<<"$bench_out"; then
  echo "bench_replicate without node: not checked ($bench_out)"
elif ! grep -q "^JS -> JS skipped: node is not installed (bash scripts/install-deps.sh --js" <<<"$bench_out" ||
  grep -q "FAILED" <<<"$bench_out"; then
  echo "bench_replicate without node does not name what is missing:" >&2
  echo "$bench_out" >&2
  exit 1
else
  echo "bench_replicate without node: names what is missing, as it must"
fi

cd build/test
exec ctest --output-on-failure --timeout 600 -j"${CHAINSTORE_TEST_JOBS:-2}"
