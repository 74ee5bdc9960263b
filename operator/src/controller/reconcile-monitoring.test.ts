/**
 * spec.monitoring.podMonitor through reconcile, with in-memory caches and apiserver: the PodMonitor
 * is applied where the kind is served, and where the Prometheus Operator's CRDs are absent the
 * DBProxy gets a MonitoringUnavailable Event while every other child is applied — no throw, so the
 * queue does not retry in a loop.
 */
import { ApiException, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { TargetHealth } from '../../../contract/health/writer.js';
import type { DBProxy } from '../api/v1alpha1/schema.js';
import { validateSpec } from '../api/v1alpha1/validate.js';
import { OperatorMetrics } from '../metrics.js';
import { podMonitorFor } from './pod-monitor.js';
import { reconcile, type Cache, type Caches, type ReconcileDeps } from './reconcile.js';

class MemCache<T extends KubernetesObject> implements Cache<T> {
  constructor(public items: T[] = []) {}
  get = (ns: string | undefined, name: string) => this.items.find((o) => o.metadata?.namespace === ns && o.metadata?.name === name);
  list = (ns?: string) => this.items.filter((o) => ns === undefined || o.metadata?.namespace === ns);
}

const b64 = (s: string) => Buffer.from(s).toString('base64');
const SPEC = { targets: [{ host: '10.0.0.1' }], auth: [{ secretRef: { name: 'app' } }] };

interface Setup {
  enabled: boolean;
  served: boolean | undefined;
  observed?: KubernetesObject[];
  applyError?: Error;
}

function setup(o: Setup) {
  const x: DBProxy = {
    apiVersion: 'dbproxy.io/v1alpha1',
    kind: 'DBProxy',
    metadata: { name: 'orders', namespace: 'shop', uid: 'u-1', generation: 1 },
    spec: { ...SPEC, monitoring: { podMonitor: { enabled: o.enabled } } },
  };
  const empty = () => new MemCache();
  const caches: Caches = {
    dbproxies: new MemCache([x as DBProxy & KubernetesObject]) as unknown as Cache<DBProxy>,
    secrets: new MemCache([{ metadata: { name: 'app', namespace: 'shop' }, data: { username: b64('app'), password: b64('pw') } } as KubernetesObject]),
    deployments: empty(),
    services: empty(),
    serviceAccounts: empty(),
    roles: empty(),
    roleBindings: empty(),
    pdbs: empty(),
    networkPolicies: empty(),
    endpointSlices: empty(),
  };
  const t = { sent: [] as string[], events: [] as string[], absent: 0, refreshed: 0 };
  const healths: TargetHealth[] = [{ endpoint: '10.0.0.1:5432', role: 'WRITER', state: 'AVAILABLE', consecutiveFailures: 0, maxConnections: 100 }];
  const deps: ReconcileDeps = {
    kc: {} as KubeConfig,
    log: pino({ level: 'silent' }),
    caches,
    prober: { sync: () => {}, health: (_k, e) => healths.find((h) => h.endpoint === e), remove: () => {} },
    api: {
      applyObject: async (_kc, obj) => {
        if (obj.kind === 'PodMonitor' && o.applyError) throw o.applyError;
        t.sent.push(`apply ${obj.kind}/${obj.metadata?.name}`);
        return obj;
      },
      deleteObject: async (_kc, ref) => void t.sent.push(`delete ${ref.kind}/${ref.name}`),
      applyStatus: async () => {},
    },
    events: { record: async (_o, type, reason, message) => void t.events.push(`${type} ${reason}: ${message}`) },
    metrics: new OperatorMetrics(),
    defaultImage: 'img:1',
    now: () => new Date('2026-01-01T00:00:00Z'),
    podMonitors: {
      refresh: async () => void t.refreshed++,
      served: o.served,
      list: (ns) => (o.served ? (o.observed ?? []).filter((p) => p.metadata?.namespace === ns) : undefined),
      markAbsent: () => void t.absent++,
    },
  };
  return { deps, t };
}

const notFound = new ApiException(
  404,
  'Failed to fetch resource metadata for monitoring.coreos.com/v1/PodMonitor: HTTP-Code: 404',
  JSON.stringify({ kind: 'Status', code: 404, message: 'the server could not find the requested resource' }),
  {},
);

/** The PodMonitor as the apiserver would hold it after a previous reconcile applied it. */
function applied(): KubernetesObject {
  const v = validateSpec({ ...SPEC, monitoring: { podMonitor: { enabled: true } } });
  if (!v.ok) throw new Error('bad spec');
  return podMonitorFor({ name: 'orders', namespace: 'shop', uid: 'u-1', spec: v.spec });
}

describe('reconcile with spec.monitoring.podMonitor', () => {
  it('applies the PodMonitor after the other children where the kind is served', async () => {
    const { deps, t } = setup({ enabled: true, served: true });
    expect(await reconcile('shop/orders', deps)).toBeUndefined();
    expect(t.refreshed).toBe(1);
    expect(t.sent).toHaveLength(9);
    expect(t.sent.at(-1)).toBe('apply PodMonitor/orders-proxy');
    expect(t.events.filter((e) => e.includes('MonitoringUnavailable'))).toEqual([]);
  });

  it('sends nothing for an up-to-date PodMonitor, and deletes it once monitoring is turned off', async () => {
    const on = setup({ enabled: true, served: true, observed: [applied()] });
    await reconcile('shop/orders', on.deps);
    expect(on.t.sent.filter((s) => s.includes('PodMonitor'))).toEqual([]);
    const off = setup({ enabled: false, served: true, observed: [applied()] });
    await reconcile('shop/orders', off.deps);
    expect(off.t.sent.filter((s) => s.includes('PodMonitor'))).toEqual(['delete PodMonitor/orders-proxy']);
  });

  it('without the CRD (known from discovery): a MonitoringUnavailable Warning, every other child applied', async () => {
    const { deps, t } = setup({ enabled: true, served: false });
    expect(await reconcile('shop/orders', deps)).toBeUndefined();
    expect(t.sent).toHaveLength(8);
    expect(t.sent.some((s) => s.includes('PodMonitor'))).toBe(false);
    expect(t.events).toContainEqual(expect.stringMatching(/^Warning MonitoringUnavailable: .*not serve PodMonitor/));
  });

  it.each([
    ['the group is not served (discovery 404)', notFound],
    ['the group lacks the kind', new Error('Unrecognized API version and kind: monitoring.coreos.com/v1 PodMonitor')],
  ])('an apply that finds the kind missing (%s) is an Event, not a failure', async (_what, err) => {
    const { deps, t } = setup({ enabled: true, served: undefined, applyError: err });
    expect(await reconcile('shop/orders', deps)).toBeUndefined();
    expect(t.sent).toHaveLength(8);
    expect(t.absent).toBe(1);
    expect(t.events).toContainEqual(expect.stringMatching(/^Warning MonitoringUnavailable: /));
    expect(t.events.some((e) => e.startsWith('Warning ApplyFailed'))).toBe(false);
  });

  it('any other PodMonitor apply failure is an ordinary one (Forbidden: ApplyFailed)', async () => {
    const forbidden = new ApiException(403, 'forbidden', JSON.stringify({ kind: 'Status', code: 403, message: 'podmonitors is forbidden' }), {});
    const { deps, t } = setup({ enabled: true, served: true, applyError: forbidden });
    expect(await reconcile('shop/orders', deps)).toBeUndefined();
    expect(t.absent).toBe(0);
    expect(t.events).toContainEqual(expect.stringMatching(/^Warning ApplyFailed: podmonitors is forbidden/));
  });
});
