#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test: the gtest units (ctest), the
# integration tests (pytest against the real server), the console in a real browser
# (tests/browser, headless Chromium; screenshots in build/screenshots) and the deployment
# checks (pytest over the Dockerfile, compose file, Kubernetes manifests, workflows and
# Terraform).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
scripts/install-deps.sh
scripts/build.sh
(cd build && ctest --output-on-failure -j2)
.venv/bin/pytest -q tests/integration "$@"
.venv/bin/pytest -q tests/browser
.venv/bin/pytest -q tests/deploy
