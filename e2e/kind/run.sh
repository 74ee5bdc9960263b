#!/usr/bin/env bash
# make e2e-kind: the same e2e specs on a kind cluster, for machines with Docker.
#   1. kind v0.30.0 into .cache/kind/bin (go install) if absent; kubectl + helm from make kube-binaries
#   2. a kind cluster `dbproxy-e2e` (kubeconfig .cache/kind/kubeconfig)
#   3. docker build the one image, kind load it
#   4. PostgreSQL 15 in the cluster (e2e/kind/postgres.yaml), the chart installed into dbproxy-system
#   5. npx vitest run --project e2e with DBPROXY_E2E_KIND=1 (no node agent; real kubelets run pods)
# Options: KEEP_CLUSTER=1 keeps the cluster afterwards; vitest arguments pass through ("$@").
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
KIND_VERSION=v0.30.0
CLUSTER=dbproxy-e2e
IMAGE=dbproxy:e2e
KIND="$ROOT/.cache/kind/bin/kind"
export KUBECONFIG="$ROOT/.cache/kind/kubeconfig"
export PATH="$ROOT/.cache/kube/bin/current:$ROOT/.cache/kind/bin:$PATH"

log() { printf '\033[36m==> %s\033[0m\n' "$*"; }
need() { command -v "$1" >/dev/null 2>&1 || { echo "e2e-kind needs $1 ($2)" >&2; exit 2; }; }

need docker "https://docs.docker.com/engine/install/"
docker info >/dev/null 2>&1 || { echo "e2e-kind: the Docker daemon is not reachable" >&2; exit 2; }
need go "kind is built with go install"
need npx "npm ci first"

if [ ! -x "$KIND" ]; then
  log "installing kind $KIND_VERSION into .cache/kind/bin"
  GOBIN="$ROOT/.cache/kind/bin" go install "sigs.k8s.io/kind@$KIND_VERSION"
fi
if ! command -v helm >/dev/null 2>&1 || ! command -v kubectl >/dev/null 2>&1; then
  log "building kubectl and helm (make kube-binaries)"
  e2e/kube/build.sh >/dev/null
fi
[ -d dist ] || { log "building TypeScript"; npm run --silent build; }

if ! "$KIND" get clusters 2>/dev/null | grep -qx "$CLUSTER"; then
  log "creating kind cluster $CLUSTER"
  mkdir -p "$(dirname "$KUBECONFIG")"
  "$KIND" create cluster --name "$CLUSTER" --kubeconfig "$KUBECONFIG" --wait 120s
fi
cleanup() {
  if [ "${KEEP_CLUSTER:-0}" = 1 ]; then
    log "keeping cluster $CLUSTER (KUBECONFIG=$KUBECONFIG); delete with: $KIND delete cluster --name $CLUSTER"
  else
    "$KIND" delete cluster --name "$CLUSTER" --kubeconfig "$KUBECONFIG" || true
  fi
}
trap cleanup EXIT

log "building image $IMAGE"
docker build -t "$IMAGE" .
"$KIND" load docker-image "$IMAGE" --name "$CLUSTER"

log "starting PostgreSQL in the cluster"
kubectl apply -f e2e/kind/postgres.yaml
kubectl -n e2e-db rollout status deploy/postgres --timeout=180s

log "installing the chart"
kubectl apply --server-side -f crds/
helm upgrade --install dbproxy charts/dbproxy-operator --namespace dbproxy-system --create-namespace \
  --set image.repository="${IMAGE%:*}" --set image.tag="${IMAGE##*:}" --set image.pullPolicy=Never \
  --wait --timeout 180s

log "running the e2e specs on kind"
DBPROXY_E2E_KIND=1 \
DBPROXY_E2E_IMAGE="$IMAGE" \
DBPROXY_E2E_PG_HOST=postgres.e2e-db.svc \
DBPROXY_E2E_PG_PORT=5432 \
DBPROXY_E2E_PG_NAMESPACE=e2e-db \
  npx vitest run --project e2e "$@"
