#!/usr/bin/env bash
# Stops what make cluster-up started (and the proxy pods the agent ran).
set -uo pipefail
cd "$(dirname "$0")/../.."
state=.cache/kube/state/plane.json
[ -f "$state" ] || { echo "no control plane running"; exit 0; }
pids=$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1])).pids.join(" "))' "$state")
# The agent first (it stops its pods), then the plane in reverse start order.
for pid in $(echo "$pids" | tr ' ' '\n' | tac); do kill "$pid" 2>/dev/null || true; done
for _ in $(seq 1 50); do
  alive=0; for pid in $pids; do kill -0 "$pid" 2>/dev/null && alive=1; done
  [ $alive = 0 ] && break; sleep 0.2
done
for pid in $pids; do kill -9 "$pid" 2>/dev/null || true; done
rm -f "$state"
# The agent's pod network route (e2e/agent/pod-network.ts); absent is fine.
ip route del local 10.244.0.0/16 dev lo 2>/dev/null || true
echo "control plane stopped"
