/**
 * The pod's service-account identity, as the kubelet's projected token gives it: a TokenRequest
 * bound to the pod (it dies with the pod), written into a per-pod kubeconfig passed as KUBECONFIG
 * (the proxy and the operator load KUBECONFIG before the in-cluster files).
 */
import { writeFileSync } from 'node:fs';
import type { Api } from './api.js';
import { expectStatus } from './api.js';

/** One day: tests and `make cluster-up` sessions are shorter; the agent does not refresh tokens. */
const TOKEN_SECONDS = 86_400;

export async function requestPodToken(api: Api, pod: { namespace: string; name: string; uid: string; serviceAccountName: string }): Promise<string> {
  const res = await api.request<{ status?: { token?: string } }>(
    'POST',
    `/api/v1/namespaces/${pod.namespace}/serviceaccounts/${pod.serviceAccountName}/token`,
    {
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenRequest',
      spec: { expirationSeconds: TOKEN_SECONDS, boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: pod.name, uid: pod.uid } },
    },
  );
  expectStatus(`token for serviceaccount ${pod.namespace}/${pod.serviceAccountName}`, res);
  const token = res.body.status?.token;
  if (!token) throw new Error(`TokenRequest for ${pod.namespace}/${pod.serviceAccountName} returned no token`);
  return token;
}

export function podKubeconfigText(server: string, caPem: string, namespace: string, token: string): string {
  return JSON.stringify(
    {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'local', cluster: { server, 'certificate-authority-data': Buffer.from(caPem).toString('base64') } }],
      users: [{ name: 'pod', user: { token } }],
      contexts: [{ name: 'pod', context: { cluster: 'local', user: 'pod', namespace } }],
      'current-context': 'pod',
    },
    null,
    2,
  );
}

export function writePodKubeconfig(file: string, text: string): void {
  writeFileSync(file, text, { mode: 0o600 });
}
