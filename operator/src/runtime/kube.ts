import { KubeConfig } from '@kubernetes/client-node';

/** KUBECONFIG (or ~/.kube/config) when set, else the in-cluster service account. */
export function loadKubeConfig(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromDefault();
  return kc;
}
