/** How both halves reach the Kubernetes API: the kubeconfig (or in-cluster account) and the pod's own namespace. */
import { readFileSync } from 'node:fs';
import { KubeConfig } from '@kubernetes/client-node';

const SA_NAMESPACE_FILE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

/** KUBECONFIG (or ~/.kube/config) when set, else the in-cluster service account. */
export function loadKubeConfig(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromDefault();
  return kc;
}

/** The pod's namespace: POD_NAMESPACE (downward API) or the service-account namespace file. */
export function currentNamespace(env: NodeJS.ProcessEnv = process.env, file = SA_NAMESPACE_FILE): string | undefined {
  const fromEnv = env['POD_NAMESPACE']?.trim();
  if (fromEnv) return fromEnv;
  try {
    return readFileSync(file, 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}
