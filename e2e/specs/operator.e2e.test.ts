/**
 * Issue 4, "What it must show", on the real local control plane: the operator turns a DBProxy into
 * a working proxy fleet (run by the node agent), status shows in kubectl, scaling re-renders the
 * per-pod pool, deletion garbage-collects, invalid specs are refused, and leadership fails over.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { IMAGE, ON_KIND } from './support/env.js';
import { describeOnPlane } from './support/plane.js';
import { apply, getJson, installCrds, kubectl, run } from './support/kubectl.js';
import { serviceAddresses, startDbCluster } from './support/db-cluster.js';
import { createNamespace, deleteNamespace } from './support/namespace.js';
import { holderName, metricValue, startOperator, type OperatorProcess } from './support/operator-process.js';
import { psql } from './support/psql.js';
import { withPodLogs } from './support/pod-logs.js';
import { waitFor } from './support/wait.js';

process.env['KUBECONFIG'] = inject('kubeconfig');

const APP_USER = 'app';
const APP_PASSWORD = 'app-e2e-password';
const MAX_CONNECTIONS = 60; // not PostgreSQL's default, so the pool size proves the operator read it
const POOL_PERCENT = 50;

let ns = '';
let target = { host: '', port: 0 };
const operators: OperatorProcess[] = [];

function dbproxy(name: string, replicas: number, extra: Record<string, unknown> = {}) {
  return {
    apiVersion: 'dbproxy.io/v1alpha1',
    kind: 'DBProxy',
    metadata: { name, namespace: ns },
    spec: {
      engineFamily: 'POSTGRESQL',
      targets: [{ host: target.host, port: target.port }],
      auth: [{ secretRef: { name: 'app-db' } }],
      clientPasswordAuthType: 'SCRAM_SHA_256',
      connectionPool: { maxConnectionsPercent: POOL_PERCENT },
      healthCheck: { interval: '1s', failureThreshold: 2 },
      replicas,
      ...extra,
    },
  };
}

const CHILDREN = [
  ['deployment', '%-proxy'],
  ['service', '%'],
  ['secret', '%-proxy-config'],
  ['secret', '%-proxy-admin-token'],
  ['serviceaccount', '%-proxy'],
  ['role', '%-proxy'],
  ['rolebinding', '%-proxy'],
  ['poddisruptionbudget', '%-proxy'],
] as const;

async function renderedConfig(name: string): Promise<{ pool?: { maxConnections?: number }; targets?: { host: string; port: number }[] }> {
  const secret = await getJson<{ data?: Record<string, string> }>(['-n', ns, 'get', 'secret', `${name}-proxy-config`]);
  const text = Buffer.from(secret.data?.['config.yaml'] ?? '', 'base64').toString('utf8');
  return parseYaml(text) ?? {};
}

beforeAll(async () => {
  ns = await createNamespace('dbp-e2e');
  await installCrds();
  if (ON_KIND) {
    // e2e/kind/run.sh runs postgres:15 in the cluster with these credentials.
    target = { host: process.env['DBPROXY_E2E_PG_HOST'] ?? 'postgres.e2e-db.svc', port: Number(process.env['DBPROXY_E2E_PG_PORT'] ?? 5432) };
  } else {
    const db = await startDbCluster(ns, { name: 'db', user: APP_USER, password: APP_PASSWORD, settings: { max_connections: String(MAX_CONNECTIONS) } });
    target = { host: await db.startMember(0), port: 5432 };
    for (const name of ['operator-a', 'operator-b']) operators.push(await startOperator({ name, namespace: ns, image: IMAGE }));
  }
  await kubectl(['-n', ns, 'create', 'secret', 'generic', 'app-db', `--from-literal=username=${APP_USER}`, `--from-literal=password=${APP_PASSWORD}`]);
});

afterAll(async () => {
  if (ns) await run('kubectl', ['delete', 'dbproxies', '--all', '-n', ns, '--wait=false']);
  await Promise.all(operators.map((o) => o.kill()));
  if (ns) await deleteNamespace(ns);
});

describeOnPlane('DBProxy on the real control plane', () => {
  it('creates every child with an owner reference to the DBProxy', async () => {
    await apply([dbproxy('orders', 2, { adminUsers: [APP_USER] })]);
    const uid = (await getJson(['-n', ns, 'get', 'dbproxy', 'orders'])).metadata.uid as string;
    for (const [kind, pattern] of CHILDREN) {
      const name = pattern.replace('%', 'orders');
      const obj = await waitFor(`${kind} ${name}`, async () => {
        const r = await run('kubectl', ['-n', ns, 'get', kind, name, '-o', 'json']);
        return r.code === 0 ? (JSON.parse(r.stdout) as { metadata: { ownerReferences?: { uid: string; kind: string; controller?: boolean }[] } }) : undefined;
      });
      expect(obj.metadata.ownerReferences, `${kind} ${name}`).toEqual(
        expect.arrayContaining([expect.objectContaining({ kind: 'DBProxy', uid, controller: true })]),
      );
    }
  });

  it('brings the proxy pods up and shows READY True and the target in kubectl get dbp', async () => {
    await withPodLogs(ns, () =>
      waitFor('2 ready proxy replicas', async () => (await getJson(['-n', ns, 'get', 'deployment', 'orders-proxy'])).status?.readyReplicas === 2, 90_000),
    );
    const row = await waitFor(
      'DBProxy Ready=True',
      async () => {
        const out = await kubectl(['-n', ns, 'get', 'dbp', 'orders', '--no-headers']);
        return /\bTrue\b/.test(out) ? out : undefined;
      },
      60_000,
    );
    expect(row).toContain(`${target.host}:${target.port}`);
    const header = await kubectl(['-n', ns, 'get', 'dbp', 'orders']);
    expect(header.split('\n')[0]).toMatch(/NAME\s+READY\s+TARGET\s+REPLICAS\s+CONFIG\s+AGE/);
    const status = (await getJson(['-n', ns, 'get', 'dbp', 'orders'])).status;
    expect(status.endpoint).toBe(`orders.${ns}.svc:5432`);
    expect(status.readyReplicas).toBe(2);
    expect(status.conditions.find((c: { type: string }) => c.type === 'Ready')).toMatchObject({ status: 'True' });
  });

  it('runs queries through each address of the proxy Service', async () => {
    const addresses = await waitFor('2 ready endpoints of Service orders', async () => {
      const a = await serviceAddresses(ns, 'orders');
      return a.length === 2 ? a : undefined;
    });
    for (const host of addresses) {
      const out = await psql({ host, port: 5432, user: APP_USER, password: APP_PASSWORD, sql: 'select 40 + 2' });
      expect(out.trim()).toBe('42');
    }
  });

  it('answers SHOW POOLS on the admin console of a proxy pod (virtual database dbproxy)', async () => {
    const [host] = await serviceAddresses(ns, 'orders');
    await psql({ host: host!, port: 5432, user: APP_USER, password: APP_PASSWORD, sql: 'select 1' });
    const pools = await psql({ host: host!, port: 5432, user: APP_USER, password: APP_PASSWORD, database: 'dbproxy', sql: 'SHOW POOLS' });
    // -At: one row per pool, columns joined by "|", PgBouncer's order (database, user, …).
    expect(
      pools.split('\n').some((l) => l.startsWith(`postgres|${APP_USER}|`)),
      pools,
    ).toBe(true);
  });

  it('re-renders the per-pod pool size when replicas change', async () => {
    const perPod = (replicas: number) => Math.floor((MAX_CONNECTIONS * POOL_PERCENT) / 100 / replicas);
    // Also on kind: e2e/kind/postgres.yaml sets the same max_connections.
    await waitFor(`pool ${perPod(2)} at 2 replicas`, async () => (await renderedConfig('orders')).pool?.maxConnections === perPod(2));
    await kubectl(['-n', ns, 'patch', 'dbproxy', 'orders', '--type=merge', '-p', JSON.stringify({ spec: { replicas: 3 } })]);
    await waitFor(`pool ${perPod(3)} at 3 replicas`, async () => (await renderedConfig('orders')).pool?.maxConnections === perPod(3));
    await withPodLogs(ns, () =>
      waitFor('3 ready replicas', async () => (await getJson(['-n', ns, 'get', 'deployment', 'orders-proxy'])).status?.readyReplicas === 3, 90_000),
    );
    await waitFor('status.readyReplicas 3', async () => (await getJson(['-n', ns, 'get', 'dbp', 'orders'])).status?.readyReplicas === 3);
  });

  it("after a config change, shows every pod on the new config (status, kubectl get dbp, each pod's /config)", async () => {
    type S = { configVersion?: string; podsOnCurrentConfig?: number; conditions?: { type: string; status: string; reason: string }[] };
    const settled = async (): Promise<S | undefined> => {
      const st = (await getJson(['-n', ns, 'get', 'dbp', 'orders'])).status as S;
      const applied = st.conditions?.find((c) => c.type === 'ConfigApplied');
      return st.podsOnCurrentConfig === 3 && applied?.status === 'True' ? st : undefined;
    };
    const before = await waitFor('3 pods on the current config', settled, 60_000);
    await kubectl(['-n', ns, 'patch', 'dbproxy', 'orders', '--type=merge', '-p', JSON.stringify({ spec: { idleClientTimeout: '900s' } })]);
    const after = await waitFor(
      '3 pods on the changed config',
      async () => {
        const st = await settled();
        return st && st.configVersion !== before.configVersion ? st : undefined;
      },
      60_000,
    );
    const secret = await getJson(['-n', ns, 'get', 'secret', 'orders-proxy-config']);
    expect(after.configVersion).toBe(secret.metadata.resourceVersion);
    expect((await renderedConfig('orders')) as Record<string, unknown>).toMatchObject({ idleClientTimeout: '900s' });
    const row = await kubectl(['-n', ns, 'get', 'dbp', 'orders', '--no-headers']);
    expect(row.trim().split(/\s+/)[4]).toBe('3');
    // The kubectl plugin gathers every pod's /status and /config through the apiserver's pod proxy.
    const plugin = await new Promise<string>((resolve, reject) =>
      execFile(
        path.resolve(import.meta.dirname, '../../bin/kubectl-dbproxy'),
        ['status', 'orders', '-n', ns],
        { env: process.env, timeout: 30_000 },
        (err, out, errOut) => (err ? reject(new Error(`${err.message}\n${errOut}`)) : resolve(out)),
      ),
    );
    const lines = plugin.trim().split('\n');
    // /status through the pod proxy needs the admin token (Secret orders-proxy-admin-token), which the plugin sends.
    expect(plugin).not.toMatch(/HTTP 401/);
    expect(lines[0]).toMatch(/^POD\s+READY\s+CONFIG\s+TARGET/);
    const podLines = lines.filter((l) => l.startsWith('orders-proxy-'));
    expect(podLines, plugin).toHaveLength(3);
    for (const l of podLines) expect(l.split(/\s{2,}/)[2], plugin).toBe(after.configVersion);
    for (const host of await serviceAddresses(ns, 'orders')) {
      const report = (await (await fetch(`http://${host}:9187/config`)).json()) as { source: string; version: string; refused?: unknown };
      expect(report).toMatchObject({ source: `Secret ${ns}/orders-proxy-config`, version: after.configVersion });
      expect(report.refused).toBeUndefined();
    }
  });

  it('rejects an invalid spec in the CRD schema or reports it in status', async () => {
    // A schema violation (engine), a rule violation (requireTLS without tls), and a spec whose
    // rendered config the proxy pods would refuse (an idle timeout over 24 days).
    for (const [name, spec, reason] of [
      ['bad-engine', { engineFamily: 'MYSQL' }, 'InvalidSpec'],
      ['bad-tls', { requireTLS: true }, 'InvalidSpec'],
      ['bad-duration', { idleClientTimeout: '600h' }, 'ConfigRefused'],
    ] as const) {
      const r = await run('kubectl', ['apply', '--server-side', '--field-manager=e2e', '-f', '-'], JSON.stringify(dbproxy(name, 1, spec)));
      if (r.code !== 0) {
        expect(reason, `${name} is valid for the CRD schema: ${r.stderr}`).toBe('InvalidSpec');
        expect(r.stderr).toMatch(/invalid|Unsupported value|requireTLS/i);
        continue;
      }
      const cond = await waitFor(`${name} Ready=False ${reason}`, async () => {
        const s = (await getJson(['-n', ns, 'get', 'dbp', name])).status;
        return s?.conditions?.find((c: { type: string; reason?: string }) => c.type === 'Ready' && c.reason === reason);
      });
      expect(cond.status).toBe('False');
      if (reason === 'ConfigRefused') expect(cond.message).toContain('must be at most 24 days');
    }
  });

  it('reads a referenced Secret through a watch of its own: a password change re-renders the config, unreferenced Secrets are not read', async () => {
    const usersOf = async (name: string) => ((await renderedConfig(name)) as { auth?: { users?: { username: string; password: string }[] } }).auth?.users ?? [];
    await kubectl(['-n', ns, 'create', 'secret', 'generic', 'least-reader', '--from-literal=username=reader', '--from-literal=password=first']);
    await kubectl(['-n', ns, 'create', 'secret', 'generic', 'least-unrelated', '--from-literal=username=nobody', '--from-literal=password=x']);
    const spec = (auth: string[]) => dbproxy('least', 1, { auth: auth.map((name) => ({ secretRef: { name } })) });
    await apply([spec(['app-db', 'least-reader'])]);
    await waitFor('the config to carry user reader', async () => (await usersOf('least')).find((u) => u.username === 'reader')?.password === 'first', 90_000);
    await kubectl(['-n', ns, 'patch', 'secret', 'least-reader', '--type=merge', '-p', JSON.stringify({ stringData: { password: 'second' } })]);
    await waitFor(
      'the config to carry the new password',
      async () => (await usersOf('least')).find((u) => u.username === 'reader')?.password === 'second',
      60_000,
    );
    if (ON_KIND) return; // the operator's /status is read from the local operator processes only
    const watched = async () => {
      const lease = await getJson(['-n', ns, 'get', 'lease', 'dbproxy-operator']);
      const leader = operators.find((o) => o.name === holderName(lease.spec?.holderIdentity ?? ''))!;
      const res = await fetch(leader.metricsUrl.replace(/\/metrics$/, '/status'), { signal: AbortSignal.timeout(5_000) });
      return ((await res.json()) as { watchedSecrets: string[] }).watchedSecrets;
    };
    const now = await watched();
    expect(now).toEqual(expect.arrayContaining([`${ns}/app-db`, `${ns}/least-reader`]));
    expect(now).not.toContain(`${ns}/least-unrelated`);
    // The last reference goes: so does the watch.
    await apply([spec(['app-db'])]);
    await waitFor('the watch on least-reader to stop', async () => !(await watched()).includes(`${ns}/least-reader`), 60_000);
    expect(await watched()).toContain(`${ns}/app-db`);
  });

  it('creates, updates and deletes the NetworkPolicy of spec.networkPolicy (the object; this plane enforces none)', async () => {
    const np = async () => {
      const r = await run('kubectl', ['-n', ns, 'get', 'networkpolicy', 'least-proxy', '-o', 'json']);
      return r.code === 0
        ? (JSON.parse(r.stdout) as { metadata: { ownerReferences?: { kind: string }[] }; spec: { ingress: { from?: unknown[]; ports: { port: number }[] }[] } })
        : undefined;
    };
    const apps = { podSelector: { matchLabels: { role: 'app' } } };
    await apply([dbproxy('least', 1, { networkPolicy: { enabled: true, from: [apps] } })]);
    const created = await waitFor('NetworkPolicy least-proxy', np, 60_000);
    expect(created.metadata.ownerReferences).toEqual([expect.objectContaining({ kind: 'DBProxy' })]);
    expect(created.spec.ingress[0]).toEqual({ from: [apps], ports: [{ protocol: 'TCP', port: 5432 }] });
    // The operator's own pods (POD_NAMESPACE of the local operators: ns) always reach the admin port.
    expect(created.spec.ingress.find((r) => r.ports.some((p) => p.port === 9187))).toMatchObject({
      from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': ns } } }],
      ports: [{ port: 9187 }],
    });
    const office = { ipBlock: { cidr: '10.9.0.0/16' } };
    await apply([dbproxy('least', 1, { networkPolicy: { enabled: true, from: [office], metricsFrom: [apps] } })]);
    const updated = await waitFor('the NetworkPolicy updated', async () => {
      const o = await np();
      return o && JSON.stringify(o.spec.ingress[0]?.from) === JSON.stringify([office]) ? o : undefined;
    });
    expect(updated.spec.ingress.at(-1)).toEqual({ from: [apps], ports: [{ protocol: 'TCP', port: 9187 }] });
    await apply([dbproxy('least', 1, { networkPolicy: { enabled: false } })]);
    await waitFor('the NetworkPolicy deleted', async () => (await np()) === undefined, 60_000);
    await kubectl(['-n', ns, 'delete', 'dbproxy', 'least', '--wait=false']);
  });

  it('garbage-collects every child when the DBProxy is deleted', async () => {
    await kubectl(['-n', ns, 'delete', 'dbproxy', 'orders', '--wait=true', '--timeout=60s']);
    for (const [kind, pattern] of CHILDREN) {
      const name = pattern.replace('%', 'orders');
      await waitFor(`${kind} ${name} to be gone`, async () => (await run('kubectl', ['-n', ns, 'get', kind, name])).code !== 0, 120_000);
    }
    await waitFor(
      'proxy pods to be gone',
      async () => (await getJson<{ items: unknown[] }>(['-n', ns, 'get', 'pods', '-l', 'app.kubernetes.io/instance=orders'])).items.length === 0,
      120_000,
    );
  });

  it.skipIf(ON_KIND)('reconciles only on the leader, and the other replica takes over when the leader dies', async () => {
    const lease = () => getJson(['-n', ns, 'get', 'lease', 'dbproxy-operator']);
    const holder = await waitFor('a lease holder', async () => (await lease()).spec?.holderIdentity as string | undefined);
    const leader = operators.find((o) => o.name === holderName(holder));
    const standby = operators.find((o) => o.name !== holderName(holder));
    expect(leader, `holder ${holder} is one of ours`).toBeDefined();
    expect(metricValue(await leader!.metrics(), 'dbproxy_operator_is_leader')).toBe(1);
    const standbyMetrics = await standby!.metrics();
    expect(metricValue(standbyMetrics, 'dbproxy_operator_is_leader')).toBe(0);
    expect(metricValue(standbyMetrics, 'dbproxy_operator_reconcile_total') ?? 0).toBe(0);
    expect(metricValue(await leader!.metrics(), 'dbproxy_operator_reconcile_total')).toBeGreaterThan(0);

    await leader!.kill('SIGKILL'); // a crash: the Lease is not released, so the standby waits it out
    await apply([dbproxy('after-failover', 1)]);
    await waitFor('the standby to take the lease', async () => holderName((await lease()).spec?.holderIdentity ?? '') === standby!.name, 120_000);
    await waitFor(
      'the new leader to create the Deployment',
      async () => (await run('kubectl', ['-n', ns, 'get', 'deployment', 'after-failover-proxy'])).code === 0,
      120_000,
    );
    expect(metricValue(await standby!.metrics(), 'dbproxy_operator_is_leader')).toBe(1);
  });
});
