#!/usr/bin/env bash
# Renders the production overlay into manifests/inferd.yaml, the file the module installs.
# Run after changing deploy/k8s; tests/deploy checks the file is current.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
{
  echo "# Rendered from deploy/k8s/overlays/production by deploy/terraform/render.sh; do not edit."
  kubectl kustomize "$here/../k8s/overlays/production"
} >"$here/manifests/inferd.yaml"
