#!/usr/bin/env bash
# Set up (installs what is missing, builds everything in the same build/ as
# tools/run.sh, warnings as errors), then run the tests. By default the
# bounded CI subset: everything but the tests labelled "slow".
# `tools/test.sh --all` runs those too.
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
case ${1:-} in
  "") labels=(-LE slow) ;;
  --all) labels=() ;;
  *)
    echo "usage: tools/test.sh [--all]" >&2
    exit 2
    ;;
esac
"$top/tools/setup.sh"
cd "$top/build"
jobs=$(nproc 2>/dev/null || echo 2)
if ((${#labels[@]})); then
  echo "ormo test: running the tests but those labelled slow (--all: all)..."
else
  echo "ormo test: running all the tests..."
fi
ctest --output-on-failure -j"$jobs" "${labels[@]}"
