#!/usr/bin/env bash
# Installs everything inferd needs on a fresh Debian 12 machine. Idempotent: what is
# already present is skipped; the virtualenv, npm packages and Go tools are reused.
#   scripts/install-deps.sh               build, test and deployment-check dependencies
#   scripts/install-deps.sh --build-only  just what building the binary needs (the Dockerfile)
#   INFERD_SKIP_PEER=1 ...                skip the FastAPI peer used by benchmarks
# Browser tests use Debian's chromium with Playwright from PyPI (tests/requirements.txt);
# Playwright's own browser downloads are never used.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
mode=all
case "${1:-}" in
  "") ;;
  --build-only) mode=build ;;
  *) echo "usage: $0 [--build-only]" >&2; exit 2 ;;
esac

build_pkgs=(
  cmake ninja-build g++ pkg-config ca-certificates ccache
  libboost-dev libboost-system-dev libsimdjson-dev libxgboost-dev libsqlite3-dev
  libmongoc-dev libbson-dev libspdlog-dev libfmt-dev libcli11-dev libssl-dev zlib1g-dev
  # gRPC (src/grpc): the library, protobuf, and the code generators
  libgrpc++-dev libprotobuf-dev protobuf-compiler protobuf-compiler-grpc
)
test_pkgs=(
  libgtest-dev libgmock-dev libbenchmark-dev
  # integration tests, demo data and benchmarks
  python3 python3-venv python3-sklearn sqlite3 curl wrk nginx-light prometheus
  # gRPC load generation at the transport's own speed (bench/grpc_load.py; ghz is below)
  nghttp2-client
  # deployment checks (tests/deploy, scripts/deploy-check.sh): the image built and run with
  # podman (runc; netavark and aardvark-dns for names on a network; catatonit for pods),
  # its Debian base made with debootstrap, openssl for the API server's keys
  shellcheck git podman runc netavark aardvark-dns catatonit iptables debootstrap openssl
  # the console's browser tests (tests/browser): Playwright drives Debian's Chromium
  chromium fonts-dejavu-core
  # fuzzing (scripts/fuzz.sh): clang and its libFuzzer and sanitizer runtimes
  clang-14 libclang-rt-14-dev
)
debian_pkgs=("${build_pkgs[@]}")
[ "$mode" = all ] && debian_pkgs+=("${test_pkgs[@]}")
missing=()
for p in "${debian_pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Node.js/npm may come from outside Debian (as on the CI image); only ask Debian when absent.
command -v npm >/dev/null || missing+=(npm)
# tests/deploy asks apt-cache about the image's runtime packages: it needs package lists.
if [ "$mode" = all ] && ! compgen -G "/var/lib/apt/lists/*_Packages*" >/dev/null; then
  apt-get update -qq
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: apt-get install ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Swagger UI assets served at /docs (compiled into the binary, so it works offline).
ui="$root/third_party/swagger-ui"
if [ ! -f "$ui/swagger-ui-bundle.js" ]; then
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack -s swagger-ui-dist@5.35.0 >/dev/null && tar xzf swagger-ui-dist-*.tgz)
  mkdir -p "$ui"
  cp "$tmp"/package/{swagger-ui-bundle.js,swagger-ui.css,LICENSE} "$ui"/
  rm -rf "$tmp"
fi
# uPlot, the console's charts at /ui (compiled into the binary likewise).
uplot="$root/third_party/uplot"
uplot_version=1.6.32
if [ "$(cat "$uplot/.version" 2>/dev/null)" != "$uplot_version" ]; then
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack -s "uplot@$uplot_version" >/dev/null && tar xzf uplot-*.tgz)
  mkdir -p "$uplot"
  cp "$tmp"/package/dist/{uPlot.iife.min.js,uPlot.min.css} "$tmp"/package/LICENSE "$uplot"/
  echo "$uplot_version" >"$uplot/.version"
  rm -rf "$tmp"
fi
if [ "$mode" = build ]; then
  echo "install-deps: ok (build only)"
  exit 0
fi

# Go builds the FerretDB test server (tools/ferretdb) and the deployment linters below;
# FerretDB 1.24 needs Go >= 1.24, newer than Debian 12's golang package, so it must come
# with the machine.
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

# Deployment checks: Kubernetes schemas and the workflow validator from npm (locked)...
deploy="$root/tests/deploy"
stamp="$deploy/node_modules/.package-lock.sha256"
want=$(sha256sum "$deploy/package-lock.json" | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  (cd "$deploy" && npm ci --silent --no-audit --no-fund)
  echo "$want" >"$stamp"
fi
# ...and linters from the Go module proxy into .tools/bin (pinned versions). kustomize and
# terraform are built only when the machine lacks them (kubectl >= 1.27 carries kustomize 5).
tools="$root/.tools/bin"
mkdir -p "$tools"
go_tool() {  # go_tool BINARY MODULE/PATH@VERSION
  local version=${2##*@}
  if [ ! -x "$tools/$1" ] || [ "$(cat "$tools/.$1.version" 2>/dev/null)" != "$version" ]; then
    echo "install-deps: go install $2"
    GOBIN="$tools" go install "$2"
    echo "$version" >"$tools/.$1.version"
  fi
}
go_tool actionlint github.com/rhysd/actionlint/cmd/actionlint@v1.7.12
# gRPC load generator for bench/grpc_load.py.
go_tool ghz github.com/bojand/ghz/cmd/ghz@v0.120.0
if ! kubectl kustomize --help >/dev/null 2>&1; then
  go_tool kustomize sigs.k8s.io/kustomize/kustomize/v5@v5.5.0
fi
if ! command -v terraform >/dev/null; then
  # Newer releases carry replace directives that `go install` refuses; 1.5.7 builds.
  go_tool terraform github.com/hashicorp/terraform@v1.5.7
fi
(cd "$root/tools/deploycheck" && GOBIN="$tools" go install .)

# The FastAPI + XGBoost peer that benchmarks compare against.
peer="$root/../shared/peers/fastapi-xgboost/install-peer-deps.sh"
if [ -z "${INFERD_SKIP_PEER:-}" ] && [ -f "$peer" ]; then
  bash "$peer"
fi
echo "install-deps: ok"
