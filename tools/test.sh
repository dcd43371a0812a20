#!/usr/bin/env bash
# Set up (installs what is missing, builds with warnings as errors), then run
# the tests. By default the bounded CI subset: everything but the tests
# labelled "slow". `tools/test.sh --all` runs those too.
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$top/tools/setup.sh" -DORMO_WERROR=ON
cd "$top/build"
jobs=$(nproc 2>/dev/null || echo 2)
if [[ ${1:-} == --all ]]; then
  ctest --output-on-failure -j"$jobs"
else
  ctest --output-on-failure -j"$jobs" -LE slow
fi
