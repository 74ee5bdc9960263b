/**
 * Issue 11, "What it must show": a PodMonitor is created when asked. On the real control plane, with
 * the operator run as a local process: without the Prometheus Operator's CRDs a DBProxy that asks for
 * one gets a MonitoringUnavailable Event and its other children; once a PodMonitor CRD is served (a
 * minimal stand-in for the Prometheus Operator's), the operator creates PodMonitor X-proxy selecting
 * the proxy pods' admin port, and deletes it when the spec stops asking.
 */
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { IMAGE, ON_KIND } from './support/env.js';
import { describeOnPlane } from './support/plane.js';
import { apply, getJson, installCrds, kubectl, run } from './support/kubectl.js';
import { createNamespace, deleteNamespace } from './support/namespace.js';
import { startOperator, type OperatorProcess } from './support/operator-process.js';
import { waitFor } from './support/wait.js';

process.env['KUBECONFIG'] = inject('kubeconfig');

const CRD = 'podmonitors.monitoring.coreos.com';
let ns = '';
let operator: OperatorProcess | undefined;
let crdInstalled = false;

/** The Prometheus Operator's PodMonitor kind, without its schema: enough for the apiserver to serve it. */
const podMonitorCrd = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: CRD },
  spec: {
    group: 'monitoring.coreos.com',
    scope: 'Namespaced',
    names: { plural: 'podmonitors', singular: 'podmonitor', kind: 'PodMonitor', listKind: 'PodMonitorList' },
    versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } }],
  },
};

function dbproxy(monitoring: boolean) {
  return {
    apiVersion: 'dbproxy.io/v1alpha1',
    kind: 'DBProxy',
    metadata: { name: 'watched', namespace: ns },
    // Nothing listens there: the children are applied whatever the targets' health.
    spec: {
      targets: [{ host: '127.0.0.1', port: 1 }],
      auth: [{ secretRef: { name: 'app-db' } }],
      replicas: 1,
      monitoring: { podMonitor: { enabled: monitoring, interval: '15s', labels: { release: 'kps' } } },
    },
  };
}

async function start(name: string): Promise<void> {
  await operator?.kill();
  operator = await startOperator({ name, namespace: ns, image: IMAGE });
}

beforeAll(async () => {
  ns = await createNamespace('dbp-mon');
  await installCrds();
  // The CRD may be left from an earlier run: this spec starts without it.
  await run('kubectl', ['delete', 'crd', CRD, '--ignore-not-found', '--wait=true']);
  await kubectl(['-n', ns, 'create', 'secret', 'generic', 'app-db', '--from-literal=username=app', '--from-literal=password=pw']);
});

afterAll(async () => {
  await operator?.kill();
  if (ns) await run('kubectl', ['delete', 'dbproxies', '--all', '-n', ns, '--wait=false']);
  if (crdInstalled) await run('kubectl', ['delete', 'crd', CRD, '--ignore-not-found']);
  if (ns) await deleteNamespace(ns);
});

describeOnPlane('spec.monitoring.podMonitor on the real control plane', () => {
  it.skipIf(ON_KIND)('without the PodMonitor CRD: a MonitoringUnavailable Event, the other children applied', async () => {
    await start('mon-operator-a');
    await apply([dbproxy(true)]);
    await waitFor('Deployment watched-proxy', async () => (await run('kubectl', ['-n', ns, 'get', 'deployment', 'watched-proxy'])).code === 0);
    const event = await waitFor('a MonitoringUnavailable Event', async () => {
      const list = await getJson<{ items: { reason: string; message: string; type: string }[] }>([
        '-n',
        ns,
        'get',
        'events',
        '--field-selector',
        'involvedObject.kind=DBProxy,involvedObject.name=watched,reason=MonitoringUnavailable',
      ]);
      return list.items[0];
    });
    expect(event).toMatchObject({ type: 'Warning', message: expect.stringContaining('does not serve PodMonitor') });
    // The reconcile succeeded (no error loop): a status was written.
    const status = (await getJson(['-n', ns, 'get', 'dbp', 'watched'])).status;
    expect(status?.observedGeneration).toBeGreaterThan(0);
  });

  it.skipIf(ON_KIND)('with the CRD served: creates PodMonitor watched-proxy for the proxy pods, and deletes it when no longer asked', async () => {
    await apply([podMonitorCrd]);
    crdInstalled = true;
    await kubectl(['wait', '--for=condition=Established', '--timeout=60s', `crd/${CRD}`]);
    // A new operator asks discovery at its first reconcile (a running one does within a minute).
    await start('mon-operator-b');
    await apply([dbproxy(true)]);
    const pm = await waitFor('PodMonitor watched-proxy', async () => {
      const r = await run('kubectl', ['-n', ns, 'get', 'podmonitor', 'watched-proxy', '-o', 'json']);
      return r.code === 0
        ? (JSON.parse(r.stdout) as {
            metadata: { labels: Record<string, string>; ownerReferences: { kind: string; name: string }[] };
            spec: Record<string, any>;
          })
        : undefined;
    });
    expect(pm.metadata.ownerReferences).toEqual([expect.objectContaining({ kind: 'DBProxy', name: 'watched' })]);
    expect(pm.metadata.labels).toMatchObject({ release: 'kps', 'app.kubernetes.io/managed-by': 'dbproxy-operator' });
    expect(pm.spec['selector']).toEqual({
      matchLabels: { 'app.kubernetes.io/name': 'dbproxy', 'app.kubernetes.io/instance': 'watched', 'app.kubernetes.io/component': 'proxy' },
    });
    expect(pm.spec['podMetricsEndpoints']).toEqual([expect.objectContaining({ port: 'admin', path: '/metrics', interval: '15s', honorLabels: true })]);
    // The pods' template has the port the PodMonitor scrapes.
    const ports = (await getJson(['-n', ns, 'get', 'deployment', 'watched-proxy'])).spec.template.spec.containers[0].ports as { name: string }[];
    expect(ports.map((p) => p.name)).toContain('admin');

    await apply([dbproxy(false)]);
    await waitFor('PodMonitor watched-proxy deleted', async () => (await run('kubectl', ['-n', ns, 'get', 'podmonitor', 'watched-proxy'])).code !== 0);
  });
});
