/**
 * The kubelet's handling of a container's env and args, pure: `$(VAR)` references expand from the
 * env built so far, `$$(VAR)` escapes to a literal `$(VAR)`, unknown references stay as written
 * (k8s.io/kubernetes third_party/forked/golang/expansion).
 */
import type { V1EnvVar, V1Pod } from '@kubernetes/client-node';
import { NODE_IP } from './ip-pool.js';

export function expandVars(input: string, env: Readonly<Record<string, string>>): string {
  return input.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (match, name: string | undefined) => {
    if (match === '$$') return '$';
    return name !== undefined && Object.hasOwn(env, name) ? env[name]! : match;
  });
}

/** Values the downward API can give through `fieldRef` for a pod the agent runs. */
export function fieldRefValue(pod: V1Pod, fieldPath: string, podIP: string): string {
  switch (fieldPath) {
    case 'metadata.name':
      return pod.metadata?.name ?? '';
    case 'metadata.namespace':
      return pod.metadata?.namespace ?? '';
    case 'metadata.uid':
      return pod.metadata?.uid ?? '';
    case 'spec.nodeName':
      return pod.spec?.nodeName ?? '';
    case 'spec.serviceAccountName':
      return pod.spec?.serviceAccountName ?? 'default';
    case 'status.podIP':
      return podIP;
    case 'status.hostIP':
      return NODE_IP;
  }
  const label = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(fieldPath);
  if (label) {
    const map = label[1] === 'labels' ? pod.metadata?.labels : pod.metadata?.annotations;
    return map?.[label[2]!] ?? '';
  }
  throw new Error(`fieldRef ${fieldPath} is not supported by the local node agent`);
}

/**
 * The container env in order, each value expanded against the entries before it (as the kubelet
 * does). Secret and ConfigMap references are not supported: the pods the agent runs do not use them.
 */
export function resolveEnv(pod: V1Pod, env: readonly V1EnvVar[] | undefined, podIP: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of env ?? []) {
    if (e.valueFrom?.fieldRef) out[e.name] = fieldRefValue(pod, e.valueFrom.fieldRef.fieldPath, podIP);
    else if (e.valueFrom) throw new Error(`env ${e.name}: only value and fieldRef are supported by the local node agent`);
    else out[e.name] = expandVars(e.value ?? '', out);
  }
  return out;
}

/** The container's args with `$(VAR)` expanded from its env. */
export function expandArgs(args: readonly string[] | undefined, env: Readonly<Record<string, string>>): string[] {
  return (args ?? []).map((a) => expandVars(a, env));
}
