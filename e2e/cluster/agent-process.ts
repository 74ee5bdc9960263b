/** The node agent as a child process (`dist/e2e/agent/main.js`), logging to `<stateDir>/agent.log`. */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from './plane.js';

export function startAgentProcess(kubeconfig: string, stateDir: string, opts: { detached?: boolean } = {}): ChildProcess {
  const main = path.join(ROOT, 'dist/e2e/agent/main.js');
  if (!existsSync(main)) throw new Error(`${main} is missing: run \`make build\` (npm run build) first`);
  mkdirSync(stateDir, { recursive: true });
  const log = openSync(path.join(stateDir, 'agent.log'), 'a');
  const child = spawn(process.execPath, [main, '--kubeconfig', kubeconfig, '--state-dir', stateDir], {
    stdio: ['ignore', log, log],
    detached: opts.detached ?? false,
    env: { ...process.env, KUBECONFIG: kubeconfig },
  });
  closeSync(log);
  if (opts.detached) child.unref();
  return child;
}
