/** `make cluster-up`: starts the control plane and the node agent in the background, detached. */
import { closeSync, openSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { ROOT, startControlPlane } from './plane.js';

const plane = await startControlPlane({ detached: true });
const log = openSync(path.join(plane.dir, 'agent.log'), 'a');
const agent = spawn(process.execPath, [path.join(ROOT, 'dist/e2e/agent/main.js'), '--kubeconfig', plane.kubeconfig, '--state-dir', plane.dir], {
  stdio: ['ignore', log, log],
  detached: true,
  env: { ...process.env, KUBECONFIG: plane.kubeconfig },
});
closeSync(log);
agent.unref();
writeFileSync(path.join(plane.dir, 'plane.json'), JSON.stringify({ pids: [...plane.pids, agent.pid], agentPid: agent.pid, apiserverUrl: plane.apiserverUrl, kubeconfig: plane.kubeconfig }, null, 2));
process.stdout.write(`control plane up at ${plane.apiserverUrl}\n  export KUBECONFIG=${plane.kubeconfig}\n  logs: ${plane.dir}/*.log\n`);
