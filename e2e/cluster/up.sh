#!/usr/bin/env bash
# Starts the local control plane (etcd, kube-apiserver, kube-controller-manager) and the node agent on
# loopback, in the background. Admin kubeconfig: .cache/kube/kubeconfig. Stop with make cluster-down.
set -euo pipefail
cd "$(dirname "$0")/../.."
e2e/cluster/down.sh >/dev/null 2>&1 || true
node dist/e2e/cluster/up.js
