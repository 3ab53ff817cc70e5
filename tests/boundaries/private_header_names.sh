#!/usr/bin/env bash
# private_header_names.sh SOURCE_DIR: no header under src/ has the name of a
# public header (include/chainstore/), no module directory is named like the
# public namespace, and no source reaches another directory by "../".
set -euo pipefail
cd "$1"
status=0
if [ -e src/chainstore ]; then
  echo "src/chainstore/ would be included as \"chainstore/...\", the public namespace"
  status=1
fi
for pub in include/chainstore/*.h; do
  name=$(basename "$pub")
  while IFS= read -r priv; do
    echo "$priv is named like the public $pub"
    status=1
  done < <(find src -name "$name")
done
if grep -rnE '#[[:space:]]*include[[:space:]]*"\.\./' src; then
  echo "relative includes above reach past the module's own directory"
  status=1
fi
[ $status -eq 0 ] && echo "private headers: ok"
exit $status
