/** The operator run as a local process (`node bin/dbproxy operator`), as the specs need it. */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { freePort } from '../../../proxy/src/testing/ports.js';
import { ROOT, kubeconfig } from './env.js';

export interface OperatorProcess {
  name: string;
  metricsUrl: string;
  child: ChildProcess;
  metrics(): Promise<string>;
  logTail(lines?: number): string;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/** `args`: more flags, after the ones every spec uses. */
export async function startOperator(opts: { name: string; namespace: string; image: string; args?: string[] }): Promise<OperatorProcess> {
  const port = await freePort();
  const logDir = path.join(ROOT, '.cache/kube/e2e-logs');
  mkdirSync(logDir, { recursive: true });
  const logFile = path.join(logDir, `${opts.namespace}_${opts.name}.log`);
  const log = openSync(logFile, 'a');
  const child = spawn(
    process.execPath,
    [
      path.join(ROOT, 'bin/dbproxy'),
      'operator',
      '--lease-namespace',
      opts.namespace,
      '--watch-namespace',
      opts.namespace,
      '--metrics-listen',
      `127.0.0.1:${port}`,
      '--proxy-image',
      opts.image,
      '--log-level',
      'debug',
      ...(opts.args ?? []),
    ],
    {
      stdio: ['ignore', log, log],
      // POD_NAME prefixes the leader-election identity (`<POD_NAME>_<random>`), as in a pod.
      env: { ...process.env, KUBECONFIG: kubeconfig(), POD_NAME: opts.name, POD_NAMESPACE: opts.namespace },
    },
  );
  closeSync(log);
  const metricsUrl = `http://127.0.0.1:${port}/metrics`;
  await waitHealthy(child, `http://127.0.0.1:${port}/healthz`, logFile);
  return {
    name: opts.name,
    metricsUrl,
    child,
    async metrics() {
      const res = await fetch(metricsUrl, { signal: AbortSignal.timeout(5_000) });
      return res.text();
    },
    logTail(lines = 40) {
      try {
        return readFileSync(logFile, 'utf8').split('\n').slice(-lines).join('\n');
      } catch {
        return '';
      }
    },
    async kill(signal = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return;
      await new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill(signal);
        setTimeout(() => child.kill('SIGKILL'), 15_000).unref();
      });
    },
  };
}

/** Resolves when /healthz answers; throws with the log tail if the process exits first or never answers. */
async function waitHealthy(child: ChildProcess, url: string, logFile: string): Promise<void> {
  const tail = () => readFileSync(logFile, 'utf8').split('\n').slice(-25).join('\n');
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`the operator exited (${child.exitCode ?? child.signalCode}) before serving ${url}:\n${tail()}`);
    const ok = await fetch(url, { signal: AbortSignal.timeout(2_000) }).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    await new Promise((r) => setTimeout(r, 500));
  }
  child.kill('SIGKILL');
  throw new Error(`the operator did not serve ${url} within 60 s:\n${tail()}`);
}

/** The value of a Prometheus sample `name{…}` or `name` in a text exposition (sum over label sets). */
export function metricValue(text: string, name: string): number | undefined {
  let found = false;
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (m && m[1] === name) {
      found = true;
      sum += Number(m[3]);
    }
  }
  return found ? sum : undefined;
}

/** The pod (or process) name in a Lease holderIdentity `<POD_NAME>_<random>` (operator/src/main.ts). */
export function holderName(holderIdentity: string): string {
  const i = holderIdentity.lastIndexOf('_');
  return i > 0 ? holderIdentity.slice(0, i) : holderIdentity;
}
