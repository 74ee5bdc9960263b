import { describe, expect, it } from 'vitest';
import { validateSpec } from '../api/v1alpha1/validate.js';
import { SPEC_HASH } from './names.js';
import { forTypedSerializer, networkPolicyObjects, type NetworkPolicyInput, type OperatorPeer } from './network-policy.js';

function spec(raw: Record<string, unknown>) {
  const r = validateSpec({ targets: [{ host: 'db' }], auth: [{ secretRef: { name: 'app' } }], ...raw }, 'orders');
  if (!r.ok) throw new Error(r.problems.join('; '));
  return r.spec;
}

const operator: OperatorPeer = {
  namespace: 'dbproxy-system',
  podLabels: { 'app.kubernetes.io/name': 'dbproxy-operator', 'app.kubernetes.io/instance': 'dbp' },
};
const input = (raw: Record<string, unknown>, op: OperatorPeer | null = operator): NetworkPolicyInput => ({
  name: 'orders',
  namespace: 'shop',
  uid: 'u-1',
  spec: spec(raw),
  operator: op ?? undefined,
});
const operatorRule = {
  from: [
    {
      namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'dbproxy-system' } },
      podSelector: { matchLabels: { 'app.kubernetes.io/name': 'dbproxy-operator', 'app.kubernetes.io/instance': 'dbp' } },
    },
  ],
  ports: [{ protocol: 'TCP', port: 9187 }],
};
const apps = { podSelector: { matchLabels: { role: 'app' } } };
/** With `from`, the proxy pods still reach each other on 5432: cancels are forwarded between them. */
const peersRule = {
  from: [
    { podSelector: { matchLabels: { 'app.kubernetes.io/name': 'dbproxy', 'app.kubernetes.io/instance': 'orders', 'app.kubernetes.io/component': 'proxy' } } },
  ],
  ports: [{ protocol: 'TCP', port: 5432 }],
};
const prom = { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } };
const office = { ipBlock: { cidr: '10.1.0.0/16', except: ['10.1.9.0/24'] } };

describe('networkPolicyObjects', () => {
  it.each([
    { name: 'off by default', raw: {}, ingress: undefined },
    { name: 'off when disabled', raw: { networkPolicy: { enabled: false, from: [apps] } }, ingress: undefined },
    {
      name: 'enabled without from: any client on 5432, only the operator on 9187',
      raw: { networkPolicy: { enabled: true } },
      ingress: [{ ports: [{ protocol: 'TCP', port: 5432 }] }, operatorRule],
    },
    {
      name: 'from: those peers only, and the proxy pods themselves, on 5432',
      raw: { networkPolicy: { enabled: true, from: [apps, office] } },
      ingress: [{ from: [apps, office], ports: [{ protocol: 'TCP', port: 5432 }] }, peersRule, operatorRule],
    },
    {
      name: 'the reader endpoint adds its port to the client rule',
      raw: { readerEndpoint: { enabled: true }, networkPolicy: { enabled: true, from: [apps] } },
      ingress: [
        {
          from: [apps],
          ports: [
            { protocol: 'TCP', port: 5432 },
            { protocol: 'TCP', port: 5433 },
          ],
        },
        peersRule,
        operatorRule,
      ],
    },
    {
      name: 'metricsFrom: a rule of its own on the admin port, beside the operator',
      raw: { networkPolicy: { enabled: true, from: [apps], metricsFrom: [prom] } },
      ingress: [
        { from: [apps], ports: [{ protocol: 'TCP', port: 5432 }] },
        peersRule,
        operatorRule,
        { from: [prom], ports: [{ protocol: 'TCP', port: 9187 }] },
      ],
    },
  ])('$name', ({ raw, ingress }) => {
    const out = networkPolicyObjects(input(raw));
    if (ingress === undefined) return void expect(out).toEqual([]);
    expect(out).toHaveLength(1);
    const np = out[0] as { spec: { podSelector: unknown; policyTypes: string[]; ingress: unknown } };
    expect(np.spec.ingress).toEqual(ingress);
    expect(np.spec.policyTypes).toEqual(['Ingress']);
    expect(np.spec.podSelector).toEqual({
      matchLabels: { 'app.kubernetes.io/name': 'dbproxy', 'app.kubernetes.io/instance': 'orders', 'app.kubernetes.io/component': 'proxy' },
    });
  });

  it('is a child: named X-proxy, owned by X, labelled for the child informers, hashed', () => {
    const [np] = networkPolicyObjects(input({ networkPolicy: { enabled: true } }));
    expect(np).toMatchObject({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: {
        name: 'orders-proxy',
        namespace: 'shop',
        labels: { 'app.kubernetes.io/managed-by': 'dbproxy-operator' },
        ownerReferences: [{ kind: 'DBProxy', name: 'orders', uid: 'u-1', controller: true }],
      },
    });
    const hash = (raw: Record<string, unknown>) => networkPolicyObjects(input(raw))[0]!.metadata!.annotations?.[SPEC_HASH];
    expect(hash({ networkPolicy: { enabled: true } })).toMatch(/\S/);
    expect(hash({ networkPolicy: { enabled: true } })).toBe(hash({ networkPolicy: { enabled: true } }));
    expect(hash({ networkPolicy: { enabled: true, from: [apps] } })).not.toBe(hash({ networkPolicy: { enabled: true } }));
  });

  it('without a known operator pod (run outside the cluster) has no operator rule', () => {
    const [np] = networkPolicyObjects(input({ networkPolicy: { enabled: true } }, null)) as { spec: { ingress: unknown[] } }[];
    expect(np!.spec.ingress).toEqual([{ ports: [{ protocol: 'TCP', port: 5432 }] }]);
  });

  it.each([
    ['an empty peer', { networkPolicy: { enabled: true, from: [{}] } }, /podSelector, namespaceSelector or ipBlock/],
    ['an empty from (write nothing for any source)', { networkPolicy: { enabled: true, from: [] } }, /from/],
  ])('refuses %s in the spec', (_, raw, problem) => {
    const r = validateSpec({ targets: [{ host: 'db' }], auth: [{ secretRef: { name: 'app' } }], ...raw }, 'orders');
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.problems.join('; ')).toMatch(problem);
  });

  it("is handed to client-node's typed serializer with `_from`, the only name its model reads (the e2e spec shows the apiserver gets `from`)", () => {
    const [np] = networkPolicyObjects(input({ networkPolicy: { enabled: true, from: [apps, office], metricsFrom: [prom] } }));
    const typed = forTypedSerializer(np!) as { spec: { ingress: Record<string, unknown>[]; podSelector: unknown } };
    const plain = (np as { spec: { ingress: Record<string, unknown>[]; podSelector: unknown } }).spec;
    expect(typed.spec.ingress.length).toBe(plain.ingress.length);
    for (const r of typed.spec.ingress) expect(Object.keys(r).sort()).toEqual(['_from', 'ports']);
    expect(typed.spec.ingress.map((r) => r['_from'])).toEqual(plain.ingress.map((r) => r['from']));
    expect(typed.spec.podSelector).toEqual(plain.podSelector);
    expect(forTypedSerializer(np!).metadata).toEqual(np!.metadata);
    const [open] = networkPolicyObjects(input({ networkPolicy: { enabled: true } }));
    expect((forTypedSerializer(open!) as { spec: { ingress: object[] } }).spec.ingress[0]).toEqual({ ports: [{ protocol: 'TCP', port: 5432 }] });
  });
});
