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
# `tools/test.sh --all` runs the slow tests too in 1 and 2.
# `ORMO_TSAN_CAF_SOURCE=DIR tools/test.sh --tsan` runs only the real_time
# tests (actors on threads, middleman, processes) under ThreadSanitizer in
# build-tsan/, against CAF 0.17.6 built with TSan from its source in DIR
# (into build-tsan/caf/, once).
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
  # TSan sees only the synchronization of instrumented code: with Debian's
  # prebuilt CAF every message between threads looks like a race (hundreds
  # of reports). So the tests run against CAF 0.17.6 built with TSan from
  # its source (same version and build options: the same ABI), loaded in
  # place of Debian's through LD_LIBRARY_PATH.
  caf_source=${ORMO_TSAN_CAF_SOURCE:-}
  if ! grep -qs '^#define CAF_VERSION 1706$' \
         "$caf_source/libcaf_core/caf/config.hpp"; then
    fail "--tsan needs CAF 0.17.6's source: set ORMO_TSAN_CAF_SOURCE to a" \
         "checkout of tag 0.17.6 of github.com/actor-framework/actor-framework"
  fi
  caf_build="$top/build-tsan/caf"
  say "configuring $caf_build (CAF 0.17.6 with TSan)..."
  # -include limits: a header of CAF 0.17.6 misses it for GCC 12.
  if ! log=$(cmake -S "$caf_source" -B "$caf_build" -DCMAKE_BUILD_TYPE=None \
               "-DCMAKE_CXX_FLAGS=-O1 -g1 -fno-omit-frame-pointer \
-fsanitize=thread -include limits" -DCAF_LOG_LEVEL=QUIET \
               -DCAF_NO_EXAMPLES=yes -DCAF_NO_UNIT_TESTS=yes \
               -DCAF_NO_OPENSSL=yes -DCAF_NO_OPENCL=yes -DCAF_NO_PYTHON=yes \
               -DCAF_NO_TOOLS=yes -DCAF_NO_COMPILER_CHECK=yes 2>&1); then
    printf '%s\n' "$log" >&2
    fail "cmake could not configure $caf_build (messages above)"
  fi
  say "building CAF's core and io (about 10 minutes the first time)..."
  start=$SECONDS
  cmake --build "$caf_build" -j"$jobs" --target libcaf_core_shared \
    libcaf_io_shared || fail "the build in $caf_build failed (messages above)"
  say "built in $((SECONDS - start)) s"
  # Only actors and net run actors on threads (the other layers have no CAF).
  layer_tests=(actors_tests net_tests)
  sanitizer_build "$top/build-tsan" thread
  # Reports inside uninstrumented code only (each line says why);
  # UBSAN_OPTIONS come from ctest (cmake/OrmoSanitize.cmake).
  TSAN_OPTIONS="suppressions=$top/tests/tsan.supp second_deadlock_stack=1 \
${TSAN_OPTIONS:-}"
  export TSAN_OPTIONS
  export LD_LIBRARY_PATH="$caf_build/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  ldd "$top/build-tsan/bin/actors_tests" \
    | grep -q "$caf_build/lib/libcaf_core" \
    || fail "the tests do not load CAF from $caf_build/lib"
  say "running the real_time tests under TSan..."
  cd "$top/build-tsan"
  ctest --output-on-failure -R '^(actors|net)/' -L real_time
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
