/**
 * The NetworkPolicy for DBProxy X's proxy pods, pure: X-proxy in X's namespace, owned by X, Ingress
 * only (egress stays open: the pods reach their targets, DNS and the apiserver). It admits
 * spec.networkPolicy.from on the PostgreSQL ports, spec.networkPolicy.metricsFrom on the admin port,
 * and always the operator's own pods on the admin port, which it reads /config on; with `from`, the
 * proxy pods themselves on 5432 too (cancel forwarding between peers).
 */
import type { KubernetesObject } from '@kubernetes/client-node';
import type { DBProxySpec } from '../api/v1alpha1/schema.js';
import { stableHash } from './hash.js';
import { ADMIN_PORT, PG_PORT, READER_PORT, SPEC_HASH, childLabels, childNames, ownerRef, selectorLabels } from './names.js';

export const NETWORK_POLICY = { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy' } as const;

/** Where the operator's pods run and the labels they carry (its --operator-namespace, --operator-pod-labels). */
export interface OperatorPeer {
  namespace: string;
  podLabels: Record<string, string>;
}

export interface NetworkPolicyInput {
  name: string;
  namespace: string;
  uid: string;
  spec: DBProxySpec;
  /** Undefined: the operator's pods are not known (it runs outside the cluster) and get no rule of their own. */
  operator?: OperatorPeer | undefined;
}

const tcp = (port: number) => ({ protocol: 'TCP', port });

/** The operator's pods: by their labels, in the operator's namespace (a bare podSelector would mean X's namespace). */
function operatorPeer(o: OperatorPeer): Record<string, unknown> {
  return {
    namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': o.namespace } },
    podSelector: { matchLabels: o.podLabels },
  };
}

/** [] when spec.networkPolicy is off (plan.ts then deletes one that exists); else the policy. */
export function networkPolicyObjects(i: NetworkPolicyInput): (KubernetesObject & Record<string, unknown>)[] {
  const np = i.spec.networkPolicy;
  if (!np?.enabled) return [];
  const pgPorts = [tcp(PG_PORT), ...(i.spec.readerEndpoint.enabled ? [tcp(READER_PORT)] : [])];
  const ingress: Record<string, unknown>[] = [
    // No `from`: any source may connect (the NetworkPolicy meaning of an absent from).
    np.from ? { from: np.from, ports: pgPorts } : { ports: pgPorts },
    // The proxy pods themselves on 5432: a cancel that lands on one pod is forwarded to the pod holding its client.
    ...(np.from ? [{ from: [{ podSelector: { matchLabels: selectorLabels(i.name) } }], ports: [tcp(PG_PORT)] }] : []),
    ...(i.operator ? [{ from: [operatorPeer(i.operator)], ports: [tcp(ADMIN_PORT)] }] : []),
    ...(np.metricsFrom.length ? [{ from: np.metricsFrom, ports: [tcp(ADMIN_PORT)] }] : []),
  ];
  const metadata = { name: childNames(i.name).deployment, namespace: i.namespace, labels: childLabels(i.name), ownerReferences: [ownerRef(i.name, i.uid)] };
  const spec = { podSelector: { matchLabels: selectorLabels(i.name) }, policyTypes: ['Ingress'], ingress };
  const body = { ...NETWORK_POLICY, metadata, spec };
  return [{ ...body, metadata: { ...metadata, annotations: { [SPEC_HASH]: stableHash(body) } } }];
}

/**
 * The same policy as client-node's typed serializer needs it for an apply: it writes
 * V1NetworkPolicyIngressRule's `from` from a property named `_from` (a reserved word in its
 * generated model) and drops a plain `from` — which would silently admit every source.
 */
export function forTypedSerializer(np: KubernetesObject & Record<string, unknown>): KubernetesObject & Record<string, unknown> {
  const spec = np['spec'] as { ingress?: Record<string, unknown>[] } | undefined;
  if (!spec?.ingress) return np;
  const ingress = spec.ingress.map(({ from, ...rule }) => (from === undefined ? rule : { ...rule, _from: from }));
  return { ...np, spec: { ...spec, ingress } };
}
