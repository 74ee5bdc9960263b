/** `make cluster-up` (inside the plane's network namespace): starts the control plane and the node agent in the background, detached. */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { startAgentProcess } from './agent-process.js';
import { startControlPlane } from './plane.js';

const plane = await startControlPlane({ detached: true });
const agent = startAgentProcess(plane.kubeconfig, plane.dir, { detached: true });
writeFileSync(
  path.join(plane.dir, 'plane.json'),
  JSON.stringify({ pids: [...plane.pids, agent.pid], agentPid: agent.pid, apiserverUrl: plane.apiserverUrl, kubeconfig: plane.kubeconfig }, null, 2),
);
process.stdout.write(
  [
    `control plane up at ${plane.apiserverUrl}, in network namespace ${process.env['DBPROXY_NETNS']} (pods on 10.244.0.0/16)`,
    '  reach it through e2e/cluster/exec, which sets KUBECONFIG and PATH there, e.g.',
    '    e2e/cluster/exec kubectl get nodes',
    '    e2e/cluster/exec kubectl get dbp -A',
    '    e2e/cluster/exec bash        # a shell inside; psql to pod addresses works from it',
    `  kubeconfig: ${plane.kubeconfig}   logs: ${plane.dir}/*.log, pod logs ${plane.dir}/pods/`,
    '  stop: make cluster-down',
    '',
  ].join('\n'),
);
