#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test: the gtest units (ctest), the
# integration tests (pytest against the real server), the console in a real browser
# (tests/browser, headless Chromium; screenshots in build/screenshots), the deployment
# checks (scripts/deploy-check.sh: the image built and run with podman, MongoDB by name,
# the pod as written, the overlays on a real API server, then the offline checks of the
# rest; INFERD_DEPLOY_OFFLINE=1 where podman cannot run keeps only the offline ones), then
# every fuzz target for a bounded time (scripts/fuzz.sh).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
scripts/install-deps.sh
scripts/build.sh
(cd build && ctest --output-on-failure -j2)
.venv/bin/pytest -q tests/integration "$@"
.venv/bin/pytest -q tests/browser
scripts/deploy-check.sh ${INFERD_DEPLOY_OFFLINE:+--offline}
# Every fuzz target for FUZZ_SECONDS (20) under ASan + UBSan (fuzz/README.md).
scripts/fuzz.sh
