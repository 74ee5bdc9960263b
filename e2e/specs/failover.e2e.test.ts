/**
 * Issue 9 on the local control plane, on the pod network: PostgreSQL primary and streaming standby
 * run as pods behind Services (`db-rw` selects the primary, `db-ro` the replicas); a DBProxy targets
 * both by serviceRef, so its candidates come from real EndpointSlices; clients connect to the proxy
 * Service's EndpointSlice addresses. The primary's pod is killed, the standby promoted and the `db-rw`
 * selector moved to it, as HA operators do: `kubectl get dbp` shows the new target, an Event records
 * the flip, every proxy pod follows, no pod restarts and no client connection drops. The reader
 * endpoint serves reads from the standby and follows when the replicas change.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import pg from 'pg';
import { IMAGE } from './support/env.js';
import { describeOnLocalPlane } from './support/plane.js';
import { apply, getJson, installCrds, kubectl, run } from './support/kubectl.js';
import { serviceAddresses, startDbCluster, type DbCluster } from './support/db-cluster.js';
import { createNamespace, deleteNamespace } from './support/namespace.js';
import { startOperator, type OperatorProcess } from './support/operator-process.js';
import { psql } from './support/psql.js';
import { withPodLogs } from './support/pod-logs.js';
import { waitFor } from './support/wait.js';

const USER = 'app';
const PASSWORD = 'app-e2e-password';
const NAME = 'shop';
const CLIENTS_PER_POD = 4;

let ns = '';
let db: DbCluster;
let operator: OperatorProcess | undefined;
const ip: string[] = [];

const status = async () => (await getJson(['-n', ns, 'get', 'dbp', NAME])).status ?? {};
const proxyPods = () =>
  getJson<{ items: { metadata: { name: string }; status?: { podIP?: string; containerStatuses?: { restartCount: number }[] } }[] }>([
    '-n',
    ns,
    'get',
    'pods',
    '-l',
    `app.kubernetes.io/instance=${NAME},app.kubernetes.io/component=proxy`,
  ]).then((l) => l.items);
/** The admin token the operator keeps for the DBProxy: /status wants it from the pod network (docs/security.md). */
const adminToken = async () =>
  Buffer.from((await getJson<{ data: { token: string } }>(['-n', ns, 'get', 'secret', `${NAME}-proxy-admin-token`])).data.token, 'base64').toString('utf8');
/** Runs `fn`; on failure appends the pods' logs and each proxy pod's /status (its pools, targets and clients) to the error. */
async function withProxyState<T>(proxies: string[], fn: () => Promise<T>): Promise<T> {
  return withPodLogs(ns, async () => {
    try {
      return await fn();
    } catch (err) {
      const token = await adminToken().catch(() => '');
      for (const host of proxies) {
        const st = await fetch(`http://${host}:9187/status`, { headers: { authorization: `Bearer ${token}` } })
          .then((r) => r.text())
          .catch((e: Error) => e.message);
        (err as Error).message += `\n\n/status of proxy pod ${host}: ${st}`;
      }
      throw err;
    }
  });
}
const serverAddr = (host: string, port: number) =>
  psql({ host, port, user: USER, password: PASSWORD, sql: 'select host(inet_server_addr())' }).then((o) => o.trim());

beforeAll(async () => {
  ns = await createNamespace('dbp-failover');
  await installCrds();
  db = await startDbCluster(ns, { name: 'db', user: USER, password: PASSWORD });
  ip[0] = await db.startMember(0);
  ip[1] = await db.startMember(1, 0);
  await db.sql(0, 'create table if not exists orders (id serial primary key, client int, at timestamptz default now())');
  await kubectl(['-n', ns, 'create', 'secret', 'generic', 'app-db', `--from-literal=username=${USER}`, `--from-literal=password=${PASSWORD}`]);
  operator = await startOperator({ name: 'operator', namespace: ns, image: IMAGE });
  await apply([
    {
      apiVersion: 'dbproxy.io/v1alpha1',
      kind: 'DBProxy',
      metadata: { name: NAME, namespace: ns },
      spec: {
        targets: [{ serviceRef: { name: db.rw } }, { serviceRef: { name: db.ro } }],
        auth: [{ secretRef: { name: 'app-db' } }],
        replicas: 2,
        healthCheck: { interval: '1s', failureThreshold: 2 },
        readerEndpoint: { enabled: true, whenNoReader: 'UseWriter' },
      },
    },
  ]);
});

afterAll(async () => {
  if (ns) await run('kubectl', ['delete', 'dbproxies', '--all', '-n', ns, '--wait=false']);
  await operator?.kill();
  if (ns) await deleteNamespace(ns);
});

describeOnLocalPlane('failover on the pod network, through serviceRef Services', () => {
  it('finds the writer and the reader through the database Services, and serves both through the proxy Service', async () => {
    expect(await serviceAddresses(ns, db.rw)).toEqual([ip[0]]);
    expect(await serviceAddresses(ns, db.ro)).toEqual([ip[1]]);
    const s = await withPodLogs(ns, () =>
      waitFor(
        'the DBProxy Ready with the primary as target and the standby as reader',
        async () => {
          const st = await status();
          const ready = st.conditions?.some((c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True');
          return ready && st.readyReplicas === 2 && st.readers?.length === 1 ? st : undefined;
        },
        150_000,
      ),
    );
    expect(s.currentTarget).toBe(`${ip[0]}:5432`);
    expect(s.readers).toEqual([`${ip[1]}:5432`]);
    expect(await kubectl(['-n', ns, 'get', 'dbp', NAME, '--no-headers'])).toContain(`${ip[0]}:5432`);
    const proxies = await waitFor('2 ready addresses of Service shop', async () => {
      const a = await serviceAddresses(ns, NAME);
      return a.length === 2 ? a : undefined;
    });
    expect(await serviceAddresses(ns, `${NAME}-ro`)).toEqual(proxies);
    for (const host of proxies) {
      expect(await serverAddr(host, 5432)).toBe(ip[0]);
      expect(await serverAddr(host, 5433)).toBe(ip[1]);
    }
  });

  it('follows the promoted standby: new target in kubectl, an Event, every pod, no restarts, no dropped client', async () => {
    const proxies = await serviceAddresses(ns, NAME);
    const restartsBefore = (await proxyPods()).map((p) => p.status?.containerStatuses?.[0]?.restartCount ?? 0);
    // Clients on both proxy pods insert in a loop; each counts its failed statements and watches its connection.
    const clients = proxies.flatMap((host) =>
      Array.from({ length: CLIENTS_PER_POD }, () => new pg.Client({ host, port: 5432, user: USER, password: PASSWORD, database: 'postgres' })),
    );
    const dropped: string[] = [];
    const failed: number[] = clients.map(() => 0);
    const lastServer: string[] = clients.map(() => '');
    const lastError: string[] = clients.map(() => '');
    const sentAt: number[] = clients.map(() => 0);
    let running = true;
    await Promise.all(
      clients.map((c, i) =>
        c.connect().then(() => {
          c.on('error', (e) => dropped.push(`client ${i}: ${e.message}`));
          c.on('end', () => running && dropped.push(`client ${i}: connection ended`));
        }),
      ),
    );
    const loops = clients.map(async (c, i) => {
      while (running) {
        sentAt[i] = Date.now();
        try {
          const r = await c.query('insert into orders (client) values ($1) returning host(inet_server_addr()) as server', [i]);
          lastServer[i] = r.rows[0].server;
        } catch (e) {
          failed[i]!++;
          lastError[i] = (e as Error).message;
        }
        sentAt[i] = 0;
        await new Promise((r) => setTimeout(r, 20));
      }
    });
    try {
      await waitFor('every client served by the primary', async () => lastServer.every((s) => s === ip[0]));
      await db.kill(0);
      await db.promote(1);
      await db.makeWriter(1);
      await withPodLogs(ns, () => waitFor('status.currentTarget on the promoted standby', async () => (await status()).currentTarget === `${ip[1]}:5432`));
      expect(await kubectl(['-n', ns, 'get', 'dbp', NAME, '--no-headers'])).toContain(`${ip[1]}:5432`);
      // When this times out, its last observation says what each client still waits on; the pods' logs and /status follow.
      await withProxyState(proxies, () =>
        waitFor(
          'every client served by the new writer',
          async () => {
            if (lastServer.every((s) => s === ip[1])) return true;
            const now = Date.now();
            const behind = clients.flatMap((_, i) =>
              lastServer[i] === ip[1]
                ? []
                : [
                    `client ${i} (pod ${proxies[Math.floor(i / CLIENTS_PER_POD)]}): last served by ${lastServer[i]}, ${failed[i]} failed (last: ${lastError[i] || 'none'}), ${sentAt[i] ? `a statement in flight for ${now - sentAt[i]!} ms` : 'between statements'}`,
                  ],
            );
            throw new Error(behind.join('; '));
          },
          60_000,
        ),
      );
    } finally {
      running = false;
      await Promise.all(loops);
    }
    expect(dropped).toEqual([]);
    // At most the statements in flight when the primary died, and none after: a handful per client.
    expect(
      failed.every((n) => n <= 3),
      `failed statements per client: ${failed.join(',')}`,
    ).toBe(true);
    await Promise.all(clients.map((c) => c.end()));

    const events = await getJson<{ items: { reason: string; message: string; involvedObject: { name: string } }[] }>([
      '-n',
      ns,
      'get',
      'events',
      '--field-selector',
      `involvedObject.name=${NAME}`,
    ]);
    expect(
      events.items.some((e) => e.reason === 'TargetChanged' && e.message.includes(`${ip[1]}:5432`)),
      JSON.stringify(events.items.map((e) => e.reason)),
    ).toBe(true);
    const token = await adminToken();
    for (const host of proxies) {
      expect((await fetch(`http://${host}:9187/status`)).status, `proxy pod ${host} without the token`).toBe(401);
      const st = await fetch(`http://${host}:9187/status`, { headers: { authorization: `Bearer ${token}` } }).then(
        (r) => r.json() as Promise<{ target: string | null }>,
      );
      expect(st.target, `proxy pod ${host}`).toBe(`${ip[1]}:5432`);
    }
    const after = await proxyPods();
    expect(after.map((p) => p.status?.containerStatuses?.[0]?.restartCount ?? 0)).toEqual(restartsBefore);
    expect(after.map((p) => p.status?.podIP).sort()).toEqual(proxies);
  });

  it('sends reads to the writer while no replica is left, and to a new standby once the ro Service lists it', async () => {
    const proxies = await serviceAddresses(ns, NAME);
    await waitFor('status.readers to empty', async () => (await status()).readers?.length === 0);
    for (const host of proxies) await waitFor(`reads on ${host} to go to the writer`, async () => (await serverAddr(host, 5433).catch(() => '')) === ip[1]);
    ip[2] = await db.startMember(2, 1);
    await waitFor('the new standby in status.readers', async () => (await status()).readers?.[0] === `${ip[2]}:5432`);
    for (const host of proxies)
      await waitFor(`reads on ${host} to go to the new standby`, async () => (await serverAddr(host, 5433).catch(() => '')) === ip[2]);
  });
});
