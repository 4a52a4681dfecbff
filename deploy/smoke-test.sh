#!/usr/bin/env bash
# Sends the demo V2 inference request to a deployed inferd and checks the answer; retries
# for up to SMOKE_TIMEOUT seconds (default 120) while the model is still being registered
# or loaded. HOST sets the Host header, to go through the Ingress without /etc/hosts.
#   deploy/smoke-test.sh http://$(minikube ip) my-deployed-app.com
set -euo pipefail
url=${1:?usage: $0 BASE_URL [HOST]}
host=${2:-}
root=$(cd "$(dirname "$0")/.." && pwd)
deadline=$((SECONDS + ${SMOKE_TIMEOUT:-120}))
headers=(-H "Content-Type: application/json")
[ -n "$host" ] && headers+=(-H "Host: $host")

while :; do
  code=$(curl -sS -o /tmp/inferd-smoke.json -w '%{http_code}' "${headers[@]}" \
    --data @"$root/tests/data/demo-request.json" \
    "$url/v2/models/breast_cancer/infer" 2>/dev/null || true)
  if [ "$code" = 200 ] && grep -q '"outputs"' /tmp/inferd-smoke.json; then
    echo "smoke test: V2 infer via ${host:-$url} answered 200:"
    cat /tmp/inferd-smoke.json
    echo
    exit 0
  fi
  if [ $SECONDS -ge $deadline ]; then
    echo "smoke test: no good answer from $url (Host: ${host:-none}) within ${SMOKE_TIMEOUT:-120} s;" \
      "last status ${code:-none}:" >&2
    cat /tmp/inferd-smoke.json >&2 2>/dev/null || true
    exit 1
  fi
  sleep 3
done
