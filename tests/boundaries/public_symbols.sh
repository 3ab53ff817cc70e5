#!/usr/bin/env bash
# public_symbols.sh STATIC SHARED PREFIX...: every global symbol the two
# libraries define starts with one of the public prefixes (PREFIX_).
set -euo pipefail
static=$1 shared=$2
shift 2
pattern="^($(IFS='|'; echo "$*"))_"
status=0
check() { # what, nm output (type name per line)
  local bad
  bad=$(awk 'NF >= 2 { print $NF }' | grep -Ev "$pattern" || true)
  if [ -n "$bad" ]; then
    echo "$1 defines global symbols outside the public prefixes:"
    echo "$bad" | sort -u | head -50 | sed 's/^/  /'
    status=1
  fi
}
check "$static" < <(nm -g --defined-only "$static" | grep -v ':$')
check "$shared" < <(nm -D --defined-only "$shared")
n_static=$(nm -g --defined-only "$static" | grep -cE " [A-Za-z] ($(IFS='|'; echo "$*"))_" || true)
n_shared=$(nm -D --defined-only "$shared" | grep -cE " [A-Za-z] ($(IFS='|'; echo "$*"))_" || true)
if [ "$n_static" -eq 0 ] || [ "$n_shared" -eq 0 ]; then
  echo "no public symbol found (static: $n_static, shared: $n_shared)"
  status=1
fi
[ $status -eq 0 ] && echo "public symbols: static $n_static, shared $n_shared, nothing else"
exit $status
