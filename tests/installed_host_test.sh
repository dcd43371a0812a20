#!/usr/bin/env bash
# Installs the built ormo into a temporary prefix, then builds the embedding
# example out of tree against it with find_package(ormo), as a host
# application would, and runs it. Everything happens in a temporary folder
# that is removed at exit, pass or fail.
#
# Usage: installed_host_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$1
source=$2
work=$(mktemp -d "${TMPDIR:-/tmp}/ormo-installed-host.XXXXXX")
trap 'rm -rf "$work"' EXIT

cmake --install "$build" --prefix "$work/prefix" >/dev/null
for target in base optim data model config actors; do
  grep -q "ormo::$target" "$work/prefix/lib/cmake/ormo/ormoTargets.cmake" \
    || { echo "ormo::$target is not exported" >&2; exit 1; }
done
# The host sees only what was installed: no path into the source tree.
if grep -rq "$source" "$work/prefix/lib/cmake/ormo"; then
  echo "the installed package refers to the source tree" >&2
  exit 1
fi
launcher=()
if command -v ccache >/dev/null; then
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi
cmake -S "$source/examples/embedding" -B "$work/host" \
  -DCMAKE_PREFIX_PATH="$work/prefix" "${launcher[@]}" >/dev/null
cmake --build "$work/host" -j2
"$work/host/ormo-embedding-example"
