#!/usr/bin/env bash
# Applies an inferd overlay to the cluster of the current kubectl context, in the order
# the seed deploys: namespace, Secret and ConfigMap first, then MongoDB, then inferd and
# its Ingress; waits for the training Job (one pod, or the distributed one) and the rollout. Idempotent: an existing Secret
# is kept, a missing one is created with random values; re-running applies what changed.
#   deploy/kube-apply.sh deploy/k8s/overlays/minikube
# KUBE_WAIT=0 applies without waiting for pods: for an API server with no nodes (the
# deployment checks' own, scripts/deploy-check.sh), where no pod ever runs.
set -euo pipefail
overlay=${1:?usage: $0 OVERLAY_DIR}
root=$(cd "$(dirname "$0")/.." && pwd)
ns=inferd
timeout=${KUBE_WAIT_TIMEOUT:-600s}
wait=${KUBE_WAIT:-1}

step() { echo "==> $*"; }

step "namespace $ns"
kubectl apply -f "$root/deploy/k8s/base/namespace.yaml"

if kubectl -n "$ns" get secret inferd-secrets >/dev/null 2>&1; then
  step "Secret inferd-secrets exists; kept"
else
  step "Secret inferd-secrets: created with random values"
  kubectl -n "$ns" create secret generic inferd-secrets \
    --from-literal=mongo-root-username=inferd-root \
    --from-literal=mongo-root-password="$(openssl rand -hex 24)" \
    --from-literal=admin-token="$(openssl rand -hex 32)"
fi

step "ConfigMap"
kubectl apply -k "$overlay" -l app.kubernetes.io/component=config

step "MongoDB"
kubectl apply -k "$overlay" -l app.kubernetes.io/name=mongodb
[ "$wait" = 0 ] || kubectl -n "$ns" rollout status statefulset/mongodb --timeout="$timeout"

step "inferd: server, Service, Ingress, autoscaling, training CronJob, data volume"
kubectl apply -k "$overlay" \
  -l 'app.kubernetes.io/component notin (config,training,training-worker,dataset-shard)'
# A Job's pod template is immutable: --force replaces a Job whose template changed.
kubectl apply -k "$overlay" -l app.kubernetes.io/component=training --force
kubectl apply -k "$overlay" -l 'app.kubernetes.io/component in (training-worker,dataset-shard)' \
  --force
if [ "$wait" = 0 ]; then
  step "applied; not waiting for pods (KUBE_WAIT=0)"
  exit 0
fi

if kubectl -n "$ns" get job inferd-train >/dev/null 2>&1; then
  step "training Job"
  kubectl -n "$ns" wait --for=condition=complete job/inferd-train --timeout="$timeout"
  kubectl -n "$ns" logs job/inferd-train --tail=5
else  # components/distributed-training: its workers wait for the dataset Job's first version
  step "distributed training Job"
  kubectl -n "$ns" wait --for=condition=complete job/inferd-train-distributed --timeout="$timeout"
  kubectl -n "$ns" logs job/inferd-train-distributed --tail=5
fi

step "rollout"
kubectl -n "$ns" rollout status deployment/inferd --timeout="$timeout"
