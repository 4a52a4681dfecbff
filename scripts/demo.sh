#!/usr/bin/env bash
# Sets up a fresh machine and serves the demo models (tests/data/models) on
# port 9000 in the foreground. Try, from another shell:
#   curl -s localhost:9000/v2/models/breast_cancer/infer -d @tests/data/demo-request.json
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
scripts/install-deps.sh
scripts/build.sh
exec build/inferd serve --port "${PORT:-9000}" --model-repository tests/data/models "$@"
