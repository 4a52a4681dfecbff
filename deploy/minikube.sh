#!/usr/bin/env bash
# inferd on minikube, the seed's steps in order. Idempotent.
#   deploy/minikube.sh up       start minikube and its ingress addon, build the image inside
#                               minikube, create the Secret, apply ConfigMap, MongoDB,
#                               inferd and the Ingress, wait for the rollout, smoke-test
#   deploy/minikube.sh status   what runs, and the /etc/hosts line
#   deploy/minikube.sh down     remove inferd (namespace, data included); minikube keeps running
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
overlay="$root/deploy/k8s/overlays/minikube"
host=my-deployed-app.com

need() {
  command -v "$1" >/dev/null || { echo "minikube.sh: $1 is not installed" >&2; exit 1; }
}

hosts_line() {
  echo "Add this line to /etc/hosts to reach inferd at http://$host/:"
  echo "  $(minikube ip) $host"
}

up() {
  need minikube
  need kubectl
  need curl
  need openssl
  if ! minikube status >/dev/null 2>&1; then
    echo "==> minikube start"
    minikube start --cpus="${MINIKUBE_CPUS:-2}" --memory="${MINIKUBE_MEMORY:-4g}"
  fi
  echo "==> ingress addon"
  minikube addons enable ingress
  kubectl -n ingress-nginx wait --for=condition=ready pod \
    -l app.kubernetes.io/component=controller --timeout=300s
  echo "==> building the image inside minikube (inferd:dev)"
  minikube image build -t inferd:dev "$root"
  kubectl config use-context minikube >/dev/null
  "$root/deploy/kube-apply.sh" "$overlay"
  # A new image under the same tag needs new pods.
  kubectl -n inferd rollout restart deployment/inferd
  kubectl -n inferd rollout status deployment/inferd --timeout=300s
  hosts_line
  "$root/deploy/smoke-test.sh" "http://$(minikube ip)" "$host"
}

status() {
  need minikube
  need kubectl
  minikube status || true
  kubectl -n inferd get pods,services,ingress,jobs,cronjobs,pvc 2>/dev/null || echo "inferd is not deployed"
  hosts_line
}

down() {
  need kubectl
  kubectl delete namespace inferd --ignore-not-found --wait=true
  echo "inferd removed; 'minikube delete' removes the cluster too"
}

case "${1:-}" in
  up) up ;;
  status) status ;;
  down) down ;;
  *) echo "usage: $0 up|status|down" >&2; exit 2 ;;
esac
