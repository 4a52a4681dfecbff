#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test: the gtest units (ctest)
# and the integration tests (pytest against the real server).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
scripts/install-deps.sh
scripts/build.sh
(cd build && ctest --output-on-failure -j2)
.venv/bin/pytest -q tests/integration "$@"
