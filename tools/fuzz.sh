#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz/) with clang in build-fuzz/
# (ASan+UBSan, coverage; warnings as errors) and runs each for SECONDS.
#
# Usage: tools/fuzz.sh [TARGET|all [SECONDS]]   e.g. tools/fuzz.sh payload 600
#   TARGET   run_config, payload, checkpoint (every tests/fuzz/*_fuzzer.cpp);
#            default all
#   SECONDS  per target; default 60
#        tools/fuzz.sh --build-only [CMAKE_TARGET...]
#            only configures build-fuzz/ and builds every fuzz target and
#            the CMAKE_TARGETs in one cmake --build: tools/test.sh builds
#            the layer tests there, so CI has one sanitizer tree.
#
# A fuzzer starts from its seeds (tests/fuzz/corpus/TARGET/, read only) and
# from what earlier runs here found interesting (build-fuzz/corpus/TARGET/,
# kept between runs). A finding stops the run: the input is written to
# build-fuzz/findings/ and the script fails. Fix the bug, then add the input
# to tests/fuzz/corpus/TARGET/ as a regression seed (ctest -L fuzz in
# build-fuzz/ replays every seed). Needs clang and libclang-rt-14-dev
# (tools/setup.sh installs them).
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build="$top/build-fuzz"
build_only=0
extra_targets=()
if [[ ${1:-} == --build-only ]]; then
  build_only=1
  shift
  extra_targets=("$@")
  set -- all
fi
target=${1:-all}
seconds=${2:-60}

say() { echo "ormo fuzz: $*"; }
fail() {
  echo "ormo fuzz: $*" >&2
  exit 1
}

all=()
for source in "$top"/tests/fuzz/*_fuzzer.cpp; do
  name=$(basename "$source" _fuzzer.cpp)
  all+=("$name")
done
if [[ $target == all ]]; then
  targets=("${all[@]}")
elif [[ " ${all[*]} " == *" $target "* ]]; then
  targets=("$target")
else
  fail "usage: tools/fuzz.sh [TARGET|all [SECONDS]]; targets: ${all[*]}"
fi
[[ $seconds =~ ^[0-9]+$ ]] || fail "SECONDS must be a whole number"
"$top/tools/setup.sh" --packages
command -v clang++ >/dev/null \
  || fail "clang++ not found; run tools/setup.sh as root (it installs clang)"

say "configuring $build (clang++, ORMO_SANITIZE=fuzzer)..."
if ! log=$(cmake -S "$top" -B "$build" -DCMAKE_BUILD_TYPE=Release \
             -DCMAKE_CXX_COMPILER=clang++ -DORMO_SANITIZE=fuzzer \
             -DORMO_WERROR=ON 2>&1); then
  printf '%s\n' "$log" >&2
  fail "cmake could not configure $build (messages above)"
fi
jobs=$(nproc 2>/dev/null || echo 2)
build_targets=()
for name in "${targets[@]}"; do
  build_targets+=(--target "${name}_fuzzer")
done
for name in "${extra_targets[@]}"; do
  build_targets+=(--target "$name")
done
names=("${targets[@]/%/_fuzzer}" "${extra_targets[@]}")
say "building ${names[*]} (several minutes the first time)..."
start=$SECONDS
cmake --build "$build" -j"$jobs" "${build_targets[@]}" \
  || fail "the build failed (compiler messages above)"
say "built in $((SECONDS - start)) s"
if ((build_only)); then
  exit 0
fi

# Reports name source lines; a UBSan report aborts like an ASan one.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1:\
suppressions=$top/tests/ubsan.supp}
symbolizer=/usr/lib/llvm-14/bin/llvm-symbolizer
if [[ -x $symbolizer ]]; then
  export ASAN_SYMBOLIZER_PATH=${ASAN_SYMBOLIZER_PATH:-$symbolizer}
fi
mkdir -p "$build/findings"
for name in "${targets[@]}"; do
  corpus="$build/corpus/$name"
  mkdir -p "$corpus"
  say "$name: fuzzing for $seconds s..."
  if ! "$build/bin/${name}_fuzzer" "$corpus" "$top/tests/fuzz/corpus/$name" \
        -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 \
        -artifact_prefix="$build/findings/$name-" -print_final_stats=1 \
        > "$build/findings/$name.log" 2>&1; then
    tail -n 60 "$build/findings/$name.log" >&2
    fail "$name found a bug (report above; input in $build/findings/," \
         "whole log $build/findings/$name.log)"
  fi
  grep -E '^(#[0-9]+.*DONE|stat::number_of_executed_units|stat::peak_rss)' \
    "$build/findings/$name.log" | sed "s/^/ormo fuzz: $name: /" || true
done
say "no findings"
