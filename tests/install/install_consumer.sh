#!/usr/bin/env bash
# install_consumer.sh BUILD_DIR CC FLAGS: installs into a temporary prefix and
# builds tests/install/consumer.c against it three times: with pkg-config
# (shared, then static) and with CMake's find_package(chainstore).
set -euo pipefail
build=$1 cc=$2 flags=${3:-}
here=$(cd "$(dirname "$0")" && pwd)
prefix=$(mktemp -d /tmp/chainstore-install-XXXXXX)
trap 'rm -rf "$prefix"' EXIT
cmake --install "$build" --prefix "$prefix/usr" >/dev/null

libdir=$(dirname "$(find "$prefix/usr" -name chainstore.pc | head -1)")/..
export PKG_CONFIG_PATH=$libdir/pkgconfig
# shellcheck disable=SC2046,SC2086
"$cc" $flags "$here/consumer.c" -o "$prefix/consumer-pc" $(pkg-config --cflags --libs chainstore) \
  -Wl,-rpath,"$libdir"
"$prefix/consumer-pc"

# The static library: its one object holds the whole library with only the
# public symbols global (tests/boundaries/public_symbols.sh checks which).
# shellcheck disable=SC2046,SC2086
"$cc" $flags "$here/consumer.c" -o "$prefix/consumer-static" $(pkg-config --cflags chainstore) \
  "$libdir/libchainstore.a" $(pkg-config --static --libs chainstore | sed 's/-lchainstore//')
"$prefix/consumer-static"

mkdir -p "$prefix/cm"
cat > "$prefix/cm/CMakeLists.txt" <<CM
cmake_minimum_required(VERSION 3.18)
project(consumer C)
find_package(chainstore REQUIRED)
add_executable(consumer $here/consumer.c)
target_compile_options(consumer PRIVATE $flags)
target_link_options(consumer PRIVATE $flags)
target_link_libraries(consumer PRIVATE chainstore::chainstore)
CM
CC=$cc cmake -S "$prefix/cm" -B "$prefix/cm/build" -DCMAKE_PREFIX_PATH="$prefix/usr" >/dev/null
cmake --build "$prefix/cm/build" >/dev/null
"$prefix/cm/build/consumer"
