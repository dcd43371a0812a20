#!/usr/bin/env bash
# Installs what ormo needs on Debian 12 (only what is missing), then
# configures build/ and builds the given targets (default: everything). Run
# as root on a fresh machine, or as a user once the packages are there.
#
# Usage: tools/setup.sh [TARGET...]   e.g. tools/setup.sh ormo
#        tools/setup.sh --packages      only the packages
#
# Every caller configures build/ with the same options (Release, warnings as
# errors), so run.sh and test.sh share one build: neither rebuilds what the
# other built.
set -euo pipefail

packages=(
  g++ cmake make
  libcaf-dev libeigen3-dev libboost-serialization-dev doctest-dev
  libtomlplusplus-dev zlib1g-dev dataset-fashion-mnist
  libcli11-dev nlohmann-json3-dev libssl-dev
  # The fuzz targets (tools/fuzz.sh): clang with libFuzzer and the
  # sanitizer runtimes, llvm-symbolizer for source lines in reports.
  clang libclang-rt-14-dev llvm-14
)

say() { echo "ormo setup: $*"; }
fail() {
  echo "ormo setup: $*" >&2
  exit 1
}

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null \
      | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done

if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    fail "missing Debian packages (${missing[*]}) and not root; run as root or:
  sudo apt-get install -y ${missing[*]}"
  fi
  say "installing ${#missing[@]} Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  start=$SECONDS
  say "apt-get update (package lists)..."
  apt-get update -q \
    || fail "apt-get update failed (messages above); check the network and" \
            "/etc/apt/sources.list, then run this again"
  say "apt-get install (downloads and unpacks; a few minutes on a fresh" \
      "machine)..."
  apt-get install -y -q --no-install-recommends "${missing[@]}" \
    || fail "installing ${missing[*]} failed (apt-get's messages above);" \
            "fix the cause and run this again"
  say "packages installed in $((SECONDS - start)) s"
fi

if [[ ${1:-} == --packages ]]; then
  exit 0
fi

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build="$top/build"
jobs=$(nproc 2>/dev/null || echo 2)

say "configuring $build (Release, warnings as errors)..."
if ! log=$(cmake -S "$top" -B "$build" -DCMAKE_BUILD_TYPE=Release \
             -DORMO_WERROR=ON 2>&1); then
  printf '%s\n' "$log" >&2
  fail "cmake could not configure $build (messages above); if a package is" \
       "missing, run this as root; if build/ came from another checkout or" \
       "compiler, remove it and run this again"
fi

targets=()
if (($#)); then
  for target in "$@"; do
    targets+=(--target "$target")
  done
  if [[ $* == ormo ]]; then
    say "building ormo (about a minute and a half on 2 idle cores)..."
  else
    say "building $* ..."
  fi
else
  say "building everything: ormo, its libraries and the tests (about 3" \
      "minutes on 2 cores on top of ormo; what is built is kept)..."
fi
start=$SECONDS
cmake --build "$build" -j"$jobs" "${targets[@]}" \
  || fail "the build failed (compiler messages above; warnings count as" \
          "errors)"
say "built in $((SECONDS - start)) s"
