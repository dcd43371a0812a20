#!/usr/bin/env bash
# The main job: set up (installs what is missing, builds), then `ormo run`
# with the given arguments (none: the built-in default topology).
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$top/tools/setup.sh"
exec "$top/build/bin/ormo" run "$@"
