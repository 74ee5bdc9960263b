#!/usr/bin/env bash
# Starts the local control plane (etcd, kube-apiserver, kube-controller-manager) and the node agent in
# the background, inside the network namespace "dbproxy" (e2e/cluster/exec). Admin kubeconfig:
# .cache/kube/kubeconfig. Stop with make cluster-down.
set -euo pipefail
cd "$(dirname "$0")/../.."
e2e/cluster/down.sh >/dev/null 2>&1 || true
e2e/cluster/exec node dist/e2e/cluster/up.js
