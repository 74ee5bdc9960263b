/**
 * Issue 10, cancel on any pod, on the local control plane: a query runs through one proxy pod, its
 * cancel lands on the other (both addresses from the proxy Service's EndpointSlice, as kube-proxy
 * could pick either), and the pod that got it forwards it to the one holding the client: 57014.
 */
import net from 'node:net';
import pg from 'pg';
import { serialize } from 'pg-protocol';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { IMAGE } from './support/env.js';
import { describeOnLocalPlane } from './support/plane.js';
import { apply, getJson, installCrds, kubectl, run } from './support/kubectl.js';
import { serviceAddresses, startDbCluster } from './support/db-cluster.js';
import { createNamespace, deleteNamespace } from './support/namespace.js';
import { startOperator, type OperatorProcess } from './support/operator-process.js';
import { withPodLogs } from './support/pod-logs.js';
import { waitFor } from './support/wait.js';

process.env['KUBECONFIG'] = inject('kubeconfig');

const APP_USER = 'app';
const APP_PASSWORD = 'app-e2e-password';

let ns = '';
let operator: OperatorProcess | undefined;

beforeAll(async () => {
  ns = await createNamespace('dbp-cancel');
  await installCrds();
  const db = await startDbCluster(ns, { name: 'db', user: APP_USER, password: APP_PASSWORD });
  const target = { host: await db.startMember(0), port: 5432 };
  operator = await startOperator({ name: 'operator', namespace: ns, image: IMAGE });
  await kubectl(['-n', ns, 'create', 'secret', 'generic', 'app-db', `--from-literal=username=${APP_USER}`, `--from-literal=password=${APP_PASSWORD}`]);
  await apply([
    {
      apiVersion: 'dbproxy.io/v1alpha1',
      kind: 'DBProxy',
      metadata: { name: 'orders', namespace: ns },
      spec: { engineFamily: 'POSTGRESQL', targets: [target], auth: [{ secretRef: { name: 'app-db' } }], replicas: 2 },
    },
  ]);
}, 300_000);

afterAll(async () => {
  if (ns) await run('kubectl', ['delete', 'dbproxies', '--all', '-n', ns, '--wait=false']);
  await operator?.kill();
  if (ns) await deleteNamespace(ns);
});

/** A raw CancelRequest, as a client sends one on a new connection; the proxy answers nothing and closes. */
function sendCancel(host: string, processId: number, secretKey: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = net.connect(5432, host, () => s.write(serialize.cancel(processId, secretKey)));
    s.on('close', () => resolve());
    s.on('error', reject);
    s.setTimeout(10_000, () => s.destroy(new Error(`${host} did not close the cancel connection`)));
  });
}

async function forwardedBy(host: string): Promise<number> {
  const res = await fetch(`http://${host}:9187/metrics`, { signal: AbortSignal.timeout(5_000) });
  const m = /^dbproxy_cancel_requests_total\{result="forwarded"\} (\d+)/m.exec(await res.text());
  if (!m) throw new Error(`${host} serves no dbproxy_cancel_requests_total{result="forwarded"}`);
  return Number(m[1]);
}

describeOnLocalPlane('cancel on any proxy pod', () => {
  it("a cancel sent to pod B cancels the query running through pod A (57014), and B's metrics count the forward", async () => {
    const [a, b] = await withPodLogs(ns, () =>
      waitFor('2 ready endpoints of Service orders', async () => {
        const addrs = await serviceAddresses(ns, 'orders');
        return addrs.length === 2 ? addrs : undefined;
      }),
    );
    expect((await getJson(['-n', ns, 'get', 'role', 'orders-proxy'])).rules).toContainEqual({
      apiGroups: ['discovery.k8s.io'],
      resources: ['endpointslices'],
      verbs: ['list', 'watch'],
    });
    const client = new pg.Client({ host: a, port: 5432, user: APP_USER, password: APP_PASSWORD, database: 'postgres' });
    await client.connect();
    const { processID, secretKey } = client as unknown as { processID: number; secretKey: number };
    let settled: string | undefined;
    const query = client.query('select pg_sleep(120)').then(
      () => (settled = 'finished'),
      (e: Error & { code?: string }) => (settled = e.code ?? e.message),
    );
    const before = await forwardedBy(b!);
    // B learns its peers from the EndpointSlice watch; until it has A, a cancel is dropped, so
    // send again until the query ends (each a separate CancelRequest, as a client's retry would be).
    await waitFor(
      'the cancel through pod B to end the query on pod A',
      async () => {
        await sendCancel(b!, processID, secretKey);
        await new Promise((r) => setTimeout(r, 1_000));
        return settled !== undefined;
      },
      60_000,
      0,
    );
    await query;
    expect(settled).toBe('57014');
    expect(await forwardedBy(b!)).toBeGreaterThan(before);
    // The client carries on: only its statement was cancelled.
    expect((await client.query('select 40 + 2 as n')).rows).toEqual([{ n: 42 }]);
    await client.end();
  }, 240_000);
});
