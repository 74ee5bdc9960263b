/**
 * `node dist/e2e/agent/main.js [--kubeconfig FILE] [--state-dir DIR]`: the local node agent process
 * (make cluster-up and the e2e global setup start it). SIGTERM stops every pod it runs, then exits.
 */
import path from 'node:path';
import { existsSync } from 'node:fs';
import { startAgent } from './agent.js';

function flag(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

// dist/e2e/agent → the repo root is three levels up; from the sources, two.
const here = import.meta.dirname;
const root = path.resolve(here, existsSync(path.resolve(here, '../../package.json')) ? '../..' : '../../..');
const kubeconfig = flag('--kubeconfig') ?? process.env['KUBECONFIG'] ?? path.join(root, '.cache/kube/kubeconfig');
const stateDir = flag('--state-dir') ?? path.join(root, '.cache/kube/state');

try {
  const agent = await startAgent({ kubeconfig, stateDir, root });
  let stopping = false;
  const stop = () => {
    if (stopping) process.exit(1);
    stopping = true;
    agent.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
} catch (err) {
  process.stderr.write(`node agent: ${(err as Error).message}\n`);
  process.exit(1);
}
