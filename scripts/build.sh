#!/usr/bin/env bash
# Configures and builds inferd into build/ (Release unless BUILD_TYPE says otherwise).
#   BUILD_DIR=build-asan CMAKE_ARGS=-DINFERD_SANITIZE=ON scripts/build.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$root/build}
# shellcheck disable=SC2086  # CMAKE_ARGS is a list of flags
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-Release}" ${CMAKE_ARGS:-} >/dev/null
cmake --build "$build"
