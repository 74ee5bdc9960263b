#!/usr/bin/env bash
# Stops what make cluster-up started (and the pods the agent ran), then removes its network namespace.
set -uo pipefail
cd "$(dirname "$0")/../.."
state=.cache/kube/state/plane.json
if [ -f "$state" ]; then
  pids=$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1])).pids.join(" "))' "$state")
  # The agent first (it stops its pods), then the plane in reverse start order.
  for pid in $(echo "$pids" | tr ' ' '\n' | tac); do kill "$pid" 2>/dev/null || true; done
  for _ in $(seq 1 50); do
    alive=0; for pid in $pids; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ $alive = 0 ] && break; sleep 0.2
  done
  for pid in $pids; do kill -9 "$pid" 2>/dev/null || true; done
  rm -f "$state"
fi
# Whatever is left in the namespace (pods of a killed agent, shells from e2e/cluster/exec) goes with it.
e2e/cluster/exec --remove
echo "control plane stopped"
