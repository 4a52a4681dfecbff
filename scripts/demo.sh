#!/usr/bin/env bash
# Sets up a fresh machine and runs inferd's main job on the embedded default store
# (SQLite, ./inferd-data/inferd.db): records the demo dataset, trains and registers the
# demo model as breast_cancer@production (first run only), then serves the registry on
# port 9000 in the foreground. From another shell:
#   curl -s localhost:9000/v2/models/breast_cancer/infer -d @tests/data/demo-request.json
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
scripts/install-deps.sh
scripts/build.sh
store="sqlite:///inferd-data/inferd.db"
if ! build/inferd --store "$store" models show breast_cancer >/dev/null 2>&1; then
  build/inferd --store "$store" train --data tests/data/breast_cancer.csv --target target \
    --register breast_cancer --alias production --seed 7
fi
exec build/inferd serve --store "$store" --port "${PORT:-9000}" "$@"
