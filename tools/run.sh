#!/usr/bin/env bash
# The main job: set up (installs what is missing, builds `ormo` and nothing
# else), then `ormo run` with the given arguments (none: the built-in
# default topology).
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$top/tools/setup.sh" ormo
exec "$top/build/bin/ormo" run "$@"
