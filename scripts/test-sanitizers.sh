#!/usr/bin/env bash
# Builds inferd with AddressSanitizer + UndefinedBehaviorSanitizer into build-asan/ and runs
# every test against it (ctest, then pytest with INFERD_BINARY pointing at the sanitized
# server). Any sanitizer report aborts the process, which fails the test that hit it.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
scripts/install-deps.sh
BUILD_DIR="$root/build-asan" BUILD_TYPE=RelWithDebInfo CMAKE_ARGS=-DINFERD_SANITIZE=ON scripts/build.sh
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
(cd build-asan && ctest --output-on-failure -j2)
INFERD_BINARY="$root/build-asan/inferd" .venv/bin/pytest -q tests/integration "$@"
