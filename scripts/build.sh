#!/usr/bin/env bash
# Configures and builds inferd into build/ (Release unless BUILD_TYPE says otherwise).
#   BUILD_DIR=build-asan CMAKE_ARGS=-DINFERD_SANITIZE=ON scripts/build.sh
# With ccache installed (scripts/install-deps.sh installs it) compiles go through it; paths
# are hashed relative to the checkout (CCACHE_BASEDIR), so clones in other folders share it.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$root/build}
launcher=()
if command -v ccache >/dev/null; then
  export CCACHE_BASEDIR=${CCACHE_BASEDIR-$root}
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
fi
# shellcheck disable=SC2086  # CMAKE_ARGS is a list of flags
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-Release}" \
  "${launcher[@]}" ${CMAKE_ARGS:-} >/dev/null
cmake --build "$build"
