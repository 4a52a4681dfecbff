#!/usr/bin/env bash
# Installs everything inferd needs to build and test on a fresh Debian 12 machine.
# Idempotent: packages already present are skipped; the virtualenv and npm assets are reused.
#   scripts/install-deps.sh            build + test dependencies
#   INFERD_SKIP_PEER=1 ...             skip the FastAPI peer used by benchmarks
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

debian_pkgs=(
  # build
  cmake ninja-build g++ pkg-config
  # C++ libraries
  libboost-dev libboost-system-dev libsimdjson-dev libxgboost-dev libsqlite3-dev
  libmongoc-dev libbson-dev libspdlog-dev libfmt-dev libcli11-dev
  libssl-dev libgtest-dev libgmock-dev libbenchmark-dev
  # tests, demo data and benchmarks
  python3 python3-venv python3-sklearn sqlite3 curl wrk nginx-light prometheus
)
missing=()
for p in "${debian_pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Node.js/npm may come from outside Debian (as on the CI image); only ask Debian when absent.
command -v npm >/dev/null || missing+=(npm)
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: apt-get install ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Go builds the FerretDB test server (tools/ferretdb); FerretDB 1.24 needs Go >= 1.24,
# newer than Debian 12's golang package, so it must come with the machine.
if ! command -v go >/dev/null; then
  echo "install-deps: Go >= 1.24 is needed to build the FerretDB test server" >&2
  exit 1
fi

# Python virtualenv with the real clients the integration tests use.
venv="$root/.venv"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
req="$root/tests/requirements.txt"
stamp="$venv/.requirements.sha256"
want=$(sha256sum "$req" | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  "$venv/bin/pip" install -q --upgrade pip
  "$venv/bin/pip" install -q -r "$req"
  echo "$want" >"$stamp"
fi

# Swagger UI assets served at /docs (shipped with inferd, works offline).
ui="$root/third_party/swagger-ui"
if [ ! -f "$ui/swagger-ui-bundle.js" ]; then
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack -s swagger-ui-dist@5.35.0 >/dev/null && tar xzf swagger-ui-dist-*.tgz)
  mkdir -p "$ui"
  cp "$tmp"/package/{swagger-ui-bundle.js,swagger-ui.css,LICENSE} "$ui"/
  rm -rf "$tmp"
fi

# The FastAPI + XGBoost peer that benchmarks compare against.
peer="$root/../shared/peers/fastapi-xgboost/install-peer-deps.sh"
if [ -z "${INFERD_SKIP_PEER:-}" ] && [ -f "$peer" ]; then
  bash "$peer"
fi
echo "install-deps: ok"
