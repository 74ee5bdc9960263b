/** kubectl and helm, run with the specs' KUBECONFIG; failures carry the tool's stderr. */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { existsSync } from 'node:fs';
import { KUBE_BIN, ROOT, kubeconfig } from './env.js';

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

function bin(name: string): string {
  const local = path.join(KUBE_BIN, name);
  return existsSync(local) ? local : name;
}

export function run(tool: 'kubectl' | 'helm', args: string[], input?: string): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = execFile(
      bin(tool),
      args,
      { env: { ...process.env, KUBECONFIG: kubeconfig() }, maxBuffer: 64 << 20, timeout: 120_000 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
    if (input !== undefined) child.stdin!.end(input);
  });
}

/** Runs and throws with stderr on a non-zero exit. */
export async function must(tool: 'kubectl' | 'helm', args: string[], input?: string): Promise<string> {
  const r = await run(tool, args, input);
  if (r.code !== 0) throw new Error(`${tool} ${args.join(' ')} exited ${r.code}:\n${r.stderr || r.stdout}`);
  return r.stdout;
}

export const kubectl = (args: string[], input?: string) => must('kubectl', args, input);

export async function getJson<T = Record<string, any>>(args: string[]): Promise<T> {
  return JSON.parse(await kubectl([...args, '-o', 'json'])) as T;
}

/** `kubectl apply --server-side` of objects given as JS values (JSON is YAML). */
export async function apply(objects: object[], extra: string[] = []): Promise<string> {
  return kubectl(
    ['apply', '--server-side', '--field-manager=e2e', '--force-conflicts', ...extra, '-f', '-'],
    JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }),
  );
}

/** Applies the repository's CRDs (crds/) and waits until the apiserver serves DBProxies. */
export async function installCrds(): Promise<void> {
  await kubectl(['apply', '--server-side', '--force-conflicts', '-f', path.join(ROOT, 'crds')]);
  await kubectl(['wait', '--for=condition=Established', '--timeout=60s', 'crd/dbproxies.dbproxy.io']);
}
