/** What the pods of a namespace said, for failure messages: agent log files here, `kubectl logs` on kind. */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { inject } from 'vitest';
import { ON_KIND } from './env.js';
import { run } from './kubectl.js';

export async function podLogs(namespace: string, lines = 15): Promise<string> {
  const out: string[] = [(await run('kubectl', ['-n', namespace, 'get', 'pods', '-o', 'wide'])).stdout];
  if (ON_KIND) {
    out.push((await run('kubectl', ['-n', namespace, 'logs', '--all-containers', '--prefix', `--tail=${lines}`, '-l', 'app.kubernetes.io/name'])).stdout);
    return out.join('\n');
  }
  const dir = path.join(inject('stateDir'), 'pods');
  if (existsSync(dir)) {
    for (const f of readdirSync(dir).filter((f) => f.startsWith(`${namespace}_`) && f.endsWith('.log'))) {
      out.push(`--- ${f}\n${readFileSync(path.join(dir, f), 'utf8').split('\n').slice(-lines).join('\n')}`);
    }
  }
  return out.join('\n');
}

/** Runs `fn`; on failure appends the namespace's pod logs to the error. */
export async function withPodLogs<T>(namespace: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    const e = err as Error;
    e.message += `\n\npods in ${namespace}:\n${await podLogs(namespace)}`;
    throw e;
  }
}
