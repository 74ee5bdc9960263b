#!/usr/bin/env bash
# Builds (once) the local control plane the e2e tests run on: etcd, kube-apiserver,
# kube-controller-manager, kubectl, and helm, from the Go module proxy, into
# .cache/kube/bin/<k8s version>/. Idempotent: a binary that is there is not rebuilt.
# Go's own module and build caches stay where Go keeps them, so a fresh clone on the same
# machine relinks in about a minute instead of compiling for 15.
set -euo pipefail
if ! command -v go >/dev/null 2>&1; then
  echo "e2e/kube/build.sh: Go is needed to build the test control plane (etcd, kube-apiserver," >&2
  echo "kube-controller-manager) from the Go module proxy: install Go 1.26+ (https://go.dev/dl) and retry" >&2
  exit 1
fi
root=$(cd "$(dirname "$0")/../.." && pwd)
k8s=$(sed -n 's/^require k8s.io\/kubernetes \(v[0-9.]*\)$/\1/p' "$root/e2e/kube/go.mod")
etcd=$(sed -n 's/^require go.etcd.io\/etcd\/server\/v3 \(v[0-9.]*\)$/\1/p' "$root/e2e/etcd/go.mod")
helm=${HELM_VERSION:-v3.19.5}
out="$root/.cache/kube/bin/$k8s"
mkdir -p "$out"
export CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS=-mod=mod
minor=${k8s#v1.}; minor=${minor%%.*}
vflags=""
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  vflags+=" -X $pkg.gitVersion=$k8s -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"
done
need=()
for b in kube-apiserver kube-controller-manager kubectl; do [ -x "$out/$b" ] || need+=("k8s.io/kubernetes/cmd/$b"); done
if [ ${#need[@]} -gt 0 ]; then
  echo "building ${need[*]} $k8s (a cold build takes 10-20 minutes on 2 cores)" >&2
  start=$(date +%s)
  (cd "$root/e2e/kube" && go build -trimpath -ldflags "-s -w $vflags" -o "$out/" "${need[@]}")
  echo "built kubernetes binaries in $(( $(date +%s) - start ))s" >&2
fi
if [ ! -x "$out/etcd" ]; then
  echo "building etcd $etcd" >&2
  (cd "$root/e2e/etcd" && go build -trimpath -ldflags "-s -w" -o "$out/etcd" go.etcd.io/etcd/server/v3)
fi
if [ ! -x "$out/helm" ]; then
  echo "building helm $helm" >&2
  GOBIN="$out" GOFLAGS= go install -trimpath -ldflags "-s -w -X helm.sh/helm/v3/internal/version.version=$helm" "helm.sh/helm/v3/cmd/helm@$helm"
fi
ln -sfn "$k8s" "$root/.cache/kube/bin/current"
echo "$out"
