/**
 * The reconcile loop's boundary: what it sends, and how API errors are sorted. The caches and the
 * apiserver are in-memory fakes (the real ones are exercised by the e2e specs).
 */
import { ApiException, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { TargetHealth } from '../../../contract/health/writer.js';
import type { DBProxy } from '../api/v1alpha1/schema.js';
import { OperatorMetrics } from '../metrics.js';
import type { ProbePlan } from './decide.js';
import { tokenReviewBinding } from './token-review.js';
import { reconcile, type ApiWriter, type Cache, type Caches, type ReconcileDeps } from './reconcile.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');

class MemCache<T extends KubernetesObject> implements Cache<T> {
  constructor(public items: T[] = []) {}
  get = (ns: string | undefined, name: string) => this.items.find((o) => o.metadata?.namespace === ns && o.metadata?.name === name);
  list = (ns?: string) => this.items.filter((o) => ns === undefined || o.metadata?.namespace === ns);
}

const apiError = (code: number, message: string) => new ApiException(code, message, JSON.stringify({ kind: 'Status', code, message }), {});

function setup(opts: { fail?: (o: KubernetesObject) => Error | undefined; statusFail?: Error } = {}) {
  const x: DBProxy = {
    apiVersion: 'dbproxy.io/v1alpha1',
    kind: 'DBProxy',
    metadata: { name: 'orders', namespace: 'shop', uid: 'u-1', generation: 1 },
    spec: { targets: [{ host: '10.0.0.1' }], auth: [{ secretRef: { name: 'app' } }] },
  };
  const caches: Caches = {
    dbproxies: new MemCache([x as DBProxy & KubernetesObject]) as unknown as Cache<DBProxy>,
    secrets: new MemCache([{ metadata: { name: 'app', namespace: 'shop' }, data: { username: b64('app'), password: b64('pw') } } as KubernetesObject]),
    deployments: new MemCache(),
    services: new MemCache(),
    serviceAccounts: new MemCache(),
    roles: new MemCache(),
    roleBindings: new MemCache(),
    pdbs: new MemCache(),
    networkPolicies: new MemCache(),
    endpointSlices: new MemCache(),
  };
  const sent: string[] = [];
  const statuses: unknown[] = [];
  const events: string[] = [];
  const probes = new Map<string, ProbePlan | undefined>();
  const healths: TargetHealth[] = [{ endpoint: '10.0.0.1:5432', role: 'WRITER', state: 'AVAILABLE', consecutiveFailures: 0, maxConnections: 100 }];
  const api: ApiWriter = {
    applyObject: async (_kc, o) => {
      const err = opts.fail?.(o);
      if (err) throw err;
      sent.push(`apply ${o.kind}/${o.metadata?.name}`);
      return o;
    },
    deleteObject: async (_kc, ref) => void sent.push(`delete ${ref.kind}/${ref.name}`),
    applyStatus: async (_kc, o) => {
      if (opts.statusFail) throw opts.statusFail;
      statuses.push(o.status);
    },
  };
  const deps: ReconcileDeps = {
    kc: {} as KubeConfig,
    log: pino({ level: 'silent' }),
    caches,
    prober: { sync: (k, p) => void probes.set(k, p), health: (_k, e) => healths.find((h) => h.endpoint === e), remove: (k) => void probes.set(k, undefined) },
    api,
    events: { record: async (_o, type, reason) => void events.push(`${type} ${reason}`) },
    metrics: new OperatorMetrics(),
    defaultImage: 'img:1',
    now: () => new Date('2026-01-01T00:00:00.123Z'),
  };
  return { x, caches, deps, sent, statuses, events, probes };
}

describe('reconcile', () => {
  it('applies every child, writes the status, records the first writer, starts probing', async () => {
    const t = setup();
    expect(await reconcile('shop/orders', t.deps)).toBeUndefined();
    expect(t.sent).toHaveLength(8);
    expect(t.statuses).toHaveLength(1);
    expect(t.statuses[0]).toMatchObject({
      currentTarget: '10.0.0.1:5432',
      targetGeneration: 1,
      conditions: expect.arrayContaining([expect.objectContaining({ type: 'Ready', lastTransitionTime: '2026-01-01T00:00:00Z' })]),
    });
    expect(t.events).toEqual(['Normal TargetChanged']);
    expect(t.probes.get('shop/orders')).toMatchObject({ endpoints: ['10.0.0.1:5432'], user: 'app', password: 'pw' });
  });

  it('a deleted DBProxy stops its prober and sends nothing', async () => {
    const t = setup();
    (t.caches.dbproxies as unknown as MemCache<KubernetesObject>).items = [];
    t.probes.set('shop/orders', { endpoints: [], intervalMs: 1, failureThreshold: 1, user: '', password: '', tls: { sslmode: 'prefer' } });
    await reconcile('shop/orders', t.deps);
    expect(t.sent).toEqual([]);
    expect(t.probes.get('shop/orders')).toBeUndefined();
  });

  it("a deleted DBProxy's TokenReview bindings are deleted (any uid), other DBProxies' are not", async () => {
    const t = setup();
    (t.caches.dbproxies as unknown as MemCache<KubernetesObject>).items = [];
    t.caches.clusterRoleBindings = new MemCache([
      tokenReviewBinding({ name: 'orders', namespace: 'shop', uid: 'u-0' }),
      tokenReviewBinding({ name: 'orders', namespace: 'billing', uid: 'u-9' }),
      tokenReviewBinding({ name: 'orders-2', namespace: 'shop', uid: 'u-8' }),
    ]);
    await reconcile('shop/orders', t.deps);
    expect(t.sent).toEqual(['delete ClusterRoleBinding/dbproxy:shop:orders:token-review']);
  });

  it('a live DBProxy counts only the binding with its own uid as its child', async () => {
    const t = setup();
    t.x.spec = {
      targets: [{ host: '10.0.0.1' }],
      auth: [{ secretRef: { name: 'app' } }],
      tls: { secretRef: { name: 'tls' } },
      kubernetesAuth: { rules: [{ serviceAccount: { name: 'web' }, users: ['app'] }] },
    };
    (t.caches.secrets as MemCache<KubernetesObject>).items.push({
      metadata: { name: 'tls', namespace: 'shop' },
      data: { 'tls.crt': b64('c'), 'tls.key': b64('k') },
    } as KubernetesObject);
    t.caches.clusterRoleBindings = new MemCache([tokenReviewBinding({ name: 'orders', namespace: 'shop', uid: 'u-0' })]);
    await reconcile('shop/orders', t.deps);
    // The old incarnation's binding is not this one's child: it is applied again (taken over), not deleted.
    expect(t.sent).toContain('apply ClusterRoleBinding/dbproxy:shop:orders:token-review');
    expect(t.sent.at(-1)).toBe('apply ClusterRoleBinding/dbproxy:shop:orders:token-review');
  });

  it('Invalid from the apiserver becomes Ready=False ApplyFailed and a Warning, not a crash loop', async () => {
    const t = setup({
      fail: (o) => (o.kind === 'Deployment' ? apiError(422, 'Deployment.apps "orders-proxy" is invalid: spec.template.spec.tolerations') : undefined),
    });
    expect(await reconcile('shop/orders', t.deps)).toBeUndefined();
    expect(t.statuses[0]).toMatchObject({
      conditions: expect.arrayContaining([
        expect.objectContaining({ type: 'Ready', status: 'False', reason: 'ApplyFailed', message: expect.stringContaining('tolerations') }),
      ]),
    });
    expect(t.events).toContain('Warning ApplyFailed');
  });

  it('a Conflict requeues soon', async () => {
    const t = setup({ fail: () => apiError(409, 'conflict') });
    expect(await reconcile('shop/orders', t.deps)).toEqual({ requeueAfterMs: 1000 });
    expect(t.statuses).toEqual([]);
  });

  it('a transient error is thrown to the queue (backoff)', async () => {
    const t = setup({ fail: () => Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }) });
    await expect(reconcile('shop/orders', t.deps)).rejects.toThrow(/ECONNREFUSED/);
    const u = setup({ fail: () => apiError(503, 'unavailable') });
    await expect(reconcile('shop/orders', u.deps)).rejects.toThrow();
  });

  it('a NotFound while writing status ends the reconcile quietly', async () => {
    const t = setup({ statusFail: apiError(404, 'not found') });
    expect(await reconcile('shop/orders', t.deps)).toEqual({});
  });

  it('an invalid spec writes status and a Warning but applies nothing', async () => {
    const t = setup();
    t.x.spec = { targets: [], auth: [{ secretRef: { name: 'app' } }] };
    await reconcile('shop/orders', t.deps);
    expect(t.sent).toEqual([]);
    expect(t.events).toEqual(['Warning InvalidSpec']);
    expect(t.probes.get('shop/orders')).toBeUndefined();
  });
});
