/**
 * Issue 10 on the local control plane: `kubectl rollout restart` of the proxy Deployment while a
 * node-postgres Pool runs transactions in a loop through the proxy Service's ready endpoints (each new
 * connection re-resolves them, as a Service would route it). The old pods sleep in preStop while they
 * leave the EndpointSlices, then drain on SIGTERM; no transaction may fail.
 */
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { startTxLoop, type TxLoop } from '../../proxy/src/testing/tx-loop.js';
import { IMAGE } from './support/env.js';
import { describeOnLocalPlane } from './support/plane.js';
import { apply, getJson, installCrds, kubectl, run } from './support/kubectl.js';
import { serviceAddresses, startDbCluster } from './support/db-cluster.js';
import { createNamespace, deleteNamespace } from './support/namespace.js';
import { startOperator, type OperatorProcess } from './support/operator-process.js';
import { psql } from './support/psql.js';
import { withPodLogs } from './support/pod-logs.js';
import { waitFor } from './support/wait.js';

process.env['KUBECONFIG'] = inject('kubeconfig');

const USER = 'app';
const PASSWORD = 'app-rollout-password';
let ns = '';
let operator: OperatorProcess | undefined;
let loop: TxLoop | undefined;

/** The Service's ready addresses, refreshed in the background: what new connections are routed to. */
function endpointWatcher(service: string): { pick: () => { host: string; port: number }; stop: () => void; current: () => string[] } {
  let addresses: string[] = [];
  let next = 0;
  let stopped = false;
  void (async () => {
    while (!stopped) {
      try {
        addresses = await serviceAddresses(ns, service);
      } catch {
        // kubectl failed once: keep the last addresses
      }
      await new Promise((r) => setTimeout(r, 300));
    }
  })();
  return {
    pick: () => ({ host: addresses.length ? addresses[next++ % addresses.length]! : '127.0.0.1', port: 5432 }),
    stop: () => (stopped = true),
    current: () => addresses,
  };
}

beforeAll(async () => {
  ns = await createNamespace('dbp-rollout');
  await installCrds();
  const db = await startDbCluster(ns, { name: 'db', user: USER, password: PASSWORD, settings: { max_connections: '60' } });
  const host = await db.startMember(0);
  operator = await startOperator({ name: 'operator', namespace: ns, image: IMAGE });
  await kubectl(['-n', ns, 'create', 'secret', 'generic', 'app-db', `--from-literal=username=${USER}`, `--from-literal=password=${PASSWORD}`]);
  await apply([
    {
      apiVersion: 'dbproxy.io/v1alpha1',
      kind: 'DBProxy',
      metadata: { name: 'shop', namespace: ns },
      spec: {
        engineFamily: 'POSTGRESQL',
        targets: [{ host, port: 5432 }],
        auth: [{ secretRef: { name: 'app-db' } }],
        clientPasswordAuthType: 'SCRAM_SHA_256',
        healthCheck: { interval: '1s', failureThreshold: 2 },
        replicas: 2,
      },
    },
  ]);
});

afterAll(async () => {
  await loop?.stop().catch(() => {});
  if (ns) await run('kubectl', ['delete', 'dbproxies', '--all', '-n', ns, '--wait=false']);
  await operator?.kill();
  if (ns) await deleteNamespace(ns);
});

describeOnLocalPlane('rolling restart without dropped clients', () => {
  it('renders a preStop sleep and a grace period that fits it and the drain', async () => {
    await withPodLogs(ns, () =>
      waitFor('2 ready proxy replicas', async () => (await getJson(['-n', ns, 'get', 'deployment', 'shop-proxy'])).status?.readyReplicas === 2, 120_000),
    );
    const spec = (await getJson(['-n', ns, 'get', 'deployment', 'shop-proxy'])).spec.template.spec;
    expect(spec.containers[0].lifecycle.preStop).toEqual({ sleep: { seconds: 5 } });
    expect(spec.terminationGracePeriodSeconds).toBe(30);
  });

  it('kubectl rollout restart while clients run transactions: none fails', async () => {
    const eps = endpointWatcher('shop');
    try {
      await waitFor('2 ready endpoints of Service shop', async () => eps.current().length === 2, 60_000, 200);
      const [first] = eps.current();
      await psql({ host: first!, port: 5432, user: USER, password: PASSWORD, sql: 'create table if not exists rollout (n int)' });
      const oldPods = eps.current();
      loop = startTxLoop({ pick: eps.pick, user: USER, password: PASSWORD, workers: 6, table: 'rollout', sleepSeconds: 0.02 });
      await waitFor('transactions before the restart', async () => loop!.counts.ok >= 100, 60_000, 200).catch((err: Error) => {
        throw new Error(`${err.message}; counts ${JSON.stringify(loop!.counts)}`);
      });

      await withPodLogs(ns, async () => {
        await kubectl(['-n', ns, 'rollout', 'restart', 'deployment/shop-proxy']);
        await kubectl(['-n', ns, 'rollout', 'status', 'deployment/shop-proxy', '--timeout=240s']);
        // rollout status ends once the new pods are available; the old ones may still be draining.
        await waitFor(
          'the old proxy pods to be gone',
          async () => {
            const pods = await getJson<{ items: { status?: { podIP?: string } }[] }>([
              '-n',
              ns,
              'get',
              'pods',
              '-l',
              'app.kubernetes.io/instance=shop,app.kubernetes.io/component=proxy',
            ]);
            return pods.items.every((p) => !oldPods.includes(p.status?.podIP ?? '')) && eps.current().length === 2;
          },
          120_000,
          500,
        );
      });
      const before = loop.counts.ok;
      await waitFor('transactions through the new pods', async () => loop!.counts.ok >= before + 100, 60_000, 200);
      const counts = await loop.stop();
      loop = undefined;
      const rows = Number((await psql({ host: eps.current()[0]!, port: 5432, user: USER, password: PASSWORD, sql: 'select count(*) from rollout' })).trim());
      console.log(
        `rollout restart: transactions ok ${counts.ok}, failed ${counts.failed}, retried before BEGIN ${counts.retried}, ` +
          `reconnects ${counts.reconnects}, connect failures ${counts.connectFailures}; rows ${rows}`,
      );
      expect(counts.failures).toEqual([]);
      expect(counts.failed).toBe(0);
      expect(rows).toBe(counts.ok);
      // The old pods' connections were told to go and replaced on the new pods.
      expect(counts.reconnects + counts.retried).toBeGreaterThan(0);
    } finally {
      eps.stop();
    }
  }, 420_000);
});
