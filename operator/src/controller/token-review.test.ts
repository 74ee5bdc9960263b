import type { KubernetesObject } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import type { DBProxy } from '../api/v1alpha1/schema.js';
import { decide, type Observed } from './decide.js';
import { changes } from './plan.js';
import { bindingOwner, tokenReviewBinding } from './token-review.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');
const secrets: Record<string, { data: Record<string, string> }> = {
  app: { data: { username: b64('app'), password: b64('pw') } },
  tls: { data: { 'tls.crt': b64('c'), 'tls.key': b64('k') } },
};
const KUBE_AUTH = { rules: [{ serviceAccount: { name: 'web' }, users: ['app'] }] };

function dbproxy(kubernetesAuth: unknown, generation = 1): DBProxy & { metadata: { uid: string } } {
  return {
    apiVersion: 'dbproxy.io/v1alpha1',
    kind: 'DBProxy',
    metadata: { name: 'orders', namespace: 'shop', uid: 'u-1', generation },
    spec: {
      targets: [{ host: '10.0.0.1' }],
      auth: [{ secretRef: { name: 'app' } }],
      tls: { secretRef: { name: 'tls' } },
      ...(kubernetesAuth ? { kubernetesAuth } : {}),
    },
  };
}

function observed(x: DBProxy & { metadata: { uid: string } }, children: KubernetesObject[], tokenReviewBindings: boolean): Observed {
  return {
    dbproxy: x,
    children,
    secret: (n) => secrets[n],
    endpointSlices: [],
    health: () => undefined,
    now: '2026-01-01T00:00:00Z',
    defaultImage: 'img:1',
    tokenReviewBindings,
  };
}

const bindingActions = (o: Observed) => changes(decide(o).actions).filter((a) => (a.type === 'delete' ? a.ref.kind : a.object.kind) === 'ClusterRoleBinding');

describe('the TokenReview ClusterRoleBinding', () => {
  it("binds the proxy's ServiceAccount to system:auth-delegator and names its owner in annotations (no owner reference)", () => {
    const b = tokenReviewBinding({ name: 'orders', namespace: 'shop', uid: 'u-1' });
    expect(b).toMatchObject({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: {
        name: 'dbproxy:shop:orders:token-review',
        labels: { 'app.kubernetes.io/managed-by': 'dbproxy-operator' },
        annotations: { 'dbproxy.io/owner': 'shop/orders', 'dbproxy.io/owner-uid': 'u-1', 'dbproxy.io/spec-hash': expect.any(String) },
      },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'system:auth-delegator' },
      subjects: [{ kind: 'ServiceAccount', name: 'orders-proxy', namespace: 'shop' }],
    });
    expect(b.metadata).not.toHaveProperty('namespace');
    expect(b.metadata).not.toHaveProperty('ownerReferences');
    expect(bindingOwner(b)).toEqual({ key: 'shop/orders', namespace: 'shop', uid: 'u-1' });
  });

  it.each([
    ['no annotation', {}],
    ['no name', { 'dbproxy.io/owner': 'shop/' }],
    ['too many parts', { 'dbproxy.io/owner': 'shop/a/b' }],
  ])('a binding with %s has no owner', (_what, annotations) => {
    expect(bindingOwner({ metadata: { name: 'x', annotations } })).toBeUndefined();
  });

  it('is desired, last, only for a DBProxy with spec.kubernetesAuth when the operator manages bindings', () => {
    const actions = decide(observed(dbproxy(KUBE_AUTH), [], true)).actions;
    expect(actions.at(-1)).toMatchObject({ type: 'create', object: { kind: 'ClusterRoleBinding', metadata: { name: 'dbproxy:shop:orders:token-review' } } });
    expect(bindingActions(observed(dbproxy(undefined), [], true))).toEqual([]);
    expect(bindingActions(observed(dbproxy(KUBE_AUTH), [], false))).toEqual([]);
  });

  it('is left alone while up to date, and deleted once spec.kubernetesAuth is removed', () => {
    const have = {
      ...tokenReviewBinding({ name: 'orders', namespace: 'shop', uid: 'u-1' }),
      metadata: { ...tokenReviewBinding({ name: 'orders', namespace: 'shop', uid: 'u-1' }).metadata, resourceVersion: '7' },
    };
    expect(bindingActions(observed(dbproxy(KUBE_AUTH), [have], true))).toEqual([]);
    expect(bindingActions(observed(dbproxy(undefined), [have], true))).toMatchObject([
      { type: 'delete', ref: { kind: 'ClusterRoleBinding', name: 'dbproxy:shop:orders:token-review' } },
    ]);
  });

  it('without the binding managed, a Warning with the command to run, once per spec generation', () => {
    const first = decide(observed(dbproxy(KUBE_AUTH), [], false));
    const warning = first.events.find((e) => e.reason === 'TokenReviewNotBound');
    expect(warning).toMatchObject({
      type: 'Warning',
      message: expect.stringContaining('--clusterrole=system:auth-delegator --serviceaccount=shop:orders-proxy'),
    });
    const again = dbproxy(KUBE_AUTH);
    again.status = first.status;
    expect(decide(observed(again, [], false)).events.map((e) => e.reason)).not.toContain('TokenReviewNotBound');
    const edited = dbproxy(KUBE_AUTH, 2);
    edited.status = first.status;
    expect(decide(observed(edited, [], false)).events.map((e) => e.reason)).toContain('TokenReviewNotBound');
    expect(decide(observed(dbproxy(KUBE_AUTH), [], true)).events.map((e) => e.reason)).not.toContain('TokenReviewNotBound');
  });
});
