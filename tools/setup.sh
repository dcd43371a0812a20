#!/usr/bin/env bash
# Installs what ormo needs on Debian 12 (only what is missing), then
# configures and builds into build/. Run as root on a fresh machine, or as a
# user once the packages are there.
#
# Usage: tools/setup.sh [extra cmake -D options...]
set -euo pipefail

packages=(
  g++ cmake make
  libcaf-dev libeigen3-dev libboost-serialization-dev doctest-dev
  libtomlplusplus-dev zlib1g-dev dataset-fashion-mnist
)

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null \
      | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done

if ((${#missing[@]})); then
  echo "ormo setup: installing ${missing[*]}"
  if [[ $(id -u) -ne 0 ]]; then
    echo "ormo setup: missing packages and not root; run as root or:" >&2
    echo "  sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
jobs=$(nproc 2>/dev/null || echo 2)
cmake -S "$top" -B "$top/build" -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
cmake --build "$top/build" -j"$jobs"
