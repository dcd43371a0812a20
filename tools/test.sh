#!/usr/bin/env bash
# Set up (installs what is missing, builds everything in the same build/ as
# tools/run.sh, warnings as errors), then run the tests. By default the
# bounded CI subset:
#   1. in build/, every test but those labelled slow;
#   2. in build-fuzz/ (clang, ASan+UBSan halting at the first report, and
#      libFuzzer's coverage hooks: CI's one sanitizer tree, built in one
#      call with the fuzz targets), the unit tests of every layer and the
#      actor tests under CAF's test coordinator (not those labelled slow or
#      real_time);
#   3. there, each libFuzzer target for 15 s (tools/fuzz.sh).
# `tools/test.sh --all` runs the slow tests too in 1 and 2. `tools/test.sh
# --tsan` runs only the real_time tests (actors on threads, middleman,
# processes) under ThreadSanitizer in build-tsan/.
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
case ${1:-} in
  "") mode=ci ;;
  --all) mode=all ;;
  --tsan) mode=tsan ;;
  *)
    echo "usage: tools/test.sh [--all|--tsan]" >&2
    exit 2
    ;;
esac
jobs=$(nproc 2>/dev/null || echo 2)

say() { echo "ormo test: $*"; }
fail() {
  echo "ormo test: $*" >&2
  exit 1
}

# The test executables of the layers below tools/ (nodes and tools tests
# run the ormo executable as a process: not in the sanitizer passes).
layer_tests=(optim_tests data_tests model_tests config_tests actors_tests
             net_tests)
layer_pattern='^(optim|data|model|config|actors|net)/'

# sanitizer_build DIR SANITIZER (for --tsan): configures DIR with
# ORMO_SANITIZE=SANITIZER and builds the layer test executables there.
sanitizer_build() {
  local build=$1 sanitizer=$2 log start targets=()
  say "configuring $build (ORMO_SANITIZE=$sanitizer)..."
  if ! log=$(cmake -S "$top" -B "$build" -DCMAKE_BUILD_TYPE=Release \
               -DORMO_WERROR=ON -DORMO_SANITIZE="$sanitizer" 2>&1); then
    printf '%s\n' "$log" >&2
    fail "cmake could not configure $build (messages above)"
  fi
  for target in "${layer_tests[@]}"; do
    targets+=(--target "$target")
  done
  say "building the layer tests in $build (several minutes the first" \
      "time)..."
  start=$SECONDS
  cmake --build "$build" -j"$jobs" "${targets[@]}" \
    || fail "the build in $build failed (compiler messages above)"
  say "built in $((SECONDS - start)) s"
}

if [[ $mode == tsan ]]; then
  "$top/tools/setup.sh" --packages
  sanitizer_build "$top/build-tsan" thread
  # Reports inside CAF's uninstrumented code only (each line says why);
  # UBSAN_OPTIONS come from ctest (cmake/OrmoSanitize.cmake).
  TSAN_OPTIONS="suppressions=$top/tests/tsan.supp second_deadlock_stack=1 \
${TSAN_OPTIONS:-}"
  export TSAN_OPTIONS
  say "running the real_time tests under TSan..."
  cd "$top/build-tsan"
  ctest --output-on-failure -R "$layer_pattern" -L real_time
  exit
fi

"$top/tools/setup.sh"
cd "$top/build"
if [[ $mode == ci ]]; then
  say "running the tests but those labelled slow (--all: all)..."
  ctest --output-on-failure -j"$jobs" -LE slow
  asan_excluded='slow|real_time'
else
  say "running all the tests..."
  ctest --output-on-failure -j"$jobs"
  asan_excluded='real_time'
fi

# One sanitizer tree: the fuzz targets' (clang, ASan+UBSan, coverage hooks)
# also builds and runs the layer tests.
"$top/tools/fuzz.sh" --build-only "${layer_tests[@]}"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
# Qualified names in reports, which tests/ubsan.supp matches.
symbolizer=/usr/lib/llvm-14/bin/llvm-symbolizer
if [[ -x $symbolizer ]]; then
  export ASAN_SYMBOLIZER_PATH=${ASAN_SYMBOLIZER_PATH:-$symbolizer}
fi
say "running the layer tests under ASan+UBSan in build-fuzz/..."
(cd "$top/build-fuzz" \
  && ctest --output-on-failure -j"$jobs" -R "$layer_pattern" \
       -LE "$asan_excluded")

say "fuzzing each target for 15 s..."
"$top/tools/fuzz.sh" all 15
