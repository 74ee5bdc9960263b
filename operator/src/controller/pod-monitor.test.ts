import { ApiException } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { validateSpec } from '../api/v1alpha1/validate.js';
import { SPEC_HASH } from './names.js';
import { MONITORING_UNAVAILABLE, kindNotServed, podMonitorFor, podMonitorPlan, servesPodMonitors } from './pod-monitor.js';

function input(monitoring: unknown) {
  const v = validateSpec({ targets: [{ host: 'db' }], auth: [{ secretRef: { name: 'app' } }], monitoring });
  if (!v.ok) throw new Error(v.problems.join('; '));
  return { name: 'orders', namespace: 'shop', uid: 'u-1', spec: v.spec };
}

const spec = (o: unknown) => (o as { spec: { selector: unknown; podMetricsEndpoints: Record<string, unknown>[] } }).spec;

describe('podMonitorFor', () => {
  it("selects the DBProxy's proxy pods and scrapes their admin port, labelling series with the DBProxy", () => {
    const pm = podMonitorFor(input({ podMonitor: { enabled: true, interval: '15s' } }));
    expect(pm).toMatchObject({
      apiVersion: 'monitoring.coreos.com/v1',
      kind: 'PodMonitor',
      metadata: { name: 'orders-proxy', namespace: 'shop', ownerReferences: [{ kind: 'DBProxy', name: 'orders', uid: 'u-1', controller: true }] },
    });
    expect(spec(pm).selector).toEqual({
      matchLabels: { 'app.kubernetes.io/name': 'dbproxy', 'app.kubernetes.io/instance': 'orders', 'app.kubernetes.io/component': 'proxy' },
    });
    expect(spec(pm).podMetricsEndpoints).toEqual([
      {
        port: 'admin',
        path: '/metrics',
        honorLabels: true,
        interval: '15s',
        relabelings: [{ action: 'replace', sourceLabels: ['__meta_kubernetes_pod_label_app_kubernetes_io_instance'], targetLabel: 'dbproxy' }],
      },
    ]);
  });

  it("adds the user's labels under the operator's own, which win", () => {
    const pm = podMonitorFor(input({ podMonitor: { enabled: true, labels: { release: 'kps', 'app.kubernetes.io/managed-by': 'me' } } }));
    expect(pm.metadata?.labels).toMatchObject({ release: 'kps', 'app.kubernetes.io/managed-by': 'dbproxy-operator', 'app.kubernetes.io/instance': 'orders' });
  });

  it('leaves the interval to Prometheus when unset, and hashes the content', () => {
    const a = podMonitorFor(input({ podMonitor: { enabled: true } }));
    const b = podMonitorFor(input({ podMonitor: { enabled: true, interval: '30s' } }));
    expect(spec(a).podMetricsEndpoints[0]).not.toHaveProperty('interval');
    expect(a.metadata?.annotations?.[SPEC_HASH]).toMatch(/\w+/);
    expect(a.metadata?.annotations?.[SPEC_HASH]).not.toBe(b.metadata?.annotations?.[SPEC_HASH]);
    expect(podMonitorFor(input({ podMonitor: { enabled: true } }))).toEqual(a);
  });
});

describe('spec.monitoring', () => {
  it('defaults to no PodMonitor', () => {
    expect(input(undefined).spec.monitoring).toEqual({ podMonitor: { enabled: false } });
  });

  it.each([['1.5s'], ['30'], ['soon']])('refuses the interval %s', (interval) => {
    const v = validateSpec({ targets: [{ host: 'db' }], auth: [{ secretRef: { name: 'app' } }], monitoring: { podMonitor: { enabled: true, interval } } });
    expect(v.ok).toBe(false);
  });
});

describe('podMonitorPlan', () => {
  it.each([
    [false, true, 0, []],
    [false, false, 0, []],
    [true, true, 1, []],
    [true, undefined, 1, []],
    [true, false, 0, [MONITORING_UNAVAILABLE]],
  ] as const)('enabled %s, served %s: %i desired, events %j', (enabled, served, desired, reasons) => {
    const p = podMonitorPlan(input({ podMonitor: { enabled } }), served);
    expect(p.desired).toHaveLength(desired);
    expect(p.events.map((e) => e.reason)).toEqual(reasons);
    for (const e of p.events) expect(e).toMatchObject({ type: 'Warning', message: expect.stringContaining("Prometheus Operator's CRDs") });
  });
});

describe('kindNotServed', () => {
  const status = (code: number) =>
    new ApiException(
      code,
      'Unsuccessful HTTP Request',
      JSON.stringify({ kind: 'Status', code, message: 'the server could not find the requested resource' }),
      {},
    );
  it.each([
    ['discovery 404 (no such group)', status(404), true],
    ['group without the kind', new Error('Unrecognized API version and kind: monitoring.coreos.com/v1 PodMonitor'), true],
    ['forbidden', status(403), false],
    ['invalid', status(422), false],
    ['a socket error', new Error('connect ECONNREFUSED'), false],
  ])('%s → %s', (_what, err, want) => {
    expect(kindNotServed(err)).toBe(want);
  });
});

describe('servesPodMonitors', () => {
  it.each([
    [{ resources: [{ name: 'servicemonitors' }, { name: 'podmonitors' }] }, true],
    [{ resources: [{ name: 'servicemonitors' }] }, false],
    [{}, false],
    [undefined, false],
  ])('%j → %s', (list, want) => {
    expect(servesPodMonitors(list)).toBe(want);
  });
});
