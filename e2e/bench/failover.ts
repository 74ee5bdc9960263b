/**
 * The failover bench on the local control plane (`make bench-failover`, inside the plane's network
 * namespace): PostgreSQL members as pods behind `db-rw` / `db-ro` Services, a DBProxy (2 replicas)
 * targeting both by serviceRef, run by the real operator. Clients loop BEGIN; INSERT; COMMIT through
 * the proxy Service's EndpointSlice addresses while the primary's pod is killed (SIGKILL, grace 0),
 * the standby promoted and the `db-rw` selector moved to it, as HA operators do; for comparison the
 * same with clients connected to the members directly (libpq's target_session_attrs=read-write).
 * Each failover promotes the previous standby and starts a new one, so runs follow each other on one
 * plane. Writes .cache/bench/failover-cluster.{json,md}.
 *
 * FAILOVER_RUNS (default 3) failovers per mode; FAILOVER_CLIENTS (default 20);
 * FAILOVER_PROMOTE_AFTER_MS (default 500).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { failoverMarkdown, summarize, type FailoverRun } from '../../proxy/bench/failover-report.js';
import { promotionTime, Workload, type Connector } from '../../proxy/bench/failover-workload.js';
import { stopChild } from '../cluster/child.js';
import { startAgentProcess } from '../cluster/agent-process.js';
import { ROOT, startControlPlane } from '../cluster/plane.js';
import { serviceAddresses, startDbCluster, type DbCluster } from '../specs/support/db-cluster.js';
import { apply, getJson, installCrds, kubectl } from '../specs/support/kubectl.js';
import { startOperator } from '../specs/support/operator-process.js';
import { waitFor } from '../specs/support/wait.js';

const RUNS = Number(process.env['FAILOVER_RUNS'] ?? 3);
const CLIENTS = Number(process.env['FAILOVER_CLIENTS'] ?? 20);
const PROMOTE_AFTER_MS = Number(process.env['FAILOVER_PROMOTE_AFTER_MS'] ?? 500);
const STEADY_MS = 2_000;
const SETTLE_MAX_MS = 15_000;
const OUT = path.join(ROOT, '.cache/bench');
const NS = 'bench';
const NAME = 'bench';
const USER = 'app';
const PASSWORD = 'bench-password';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const dbpStatus = async () => (await getJson(['-n', NS, 'get', 'dbp', NAME])).status ?? {};

/** Promotes the standby at `host` (SQL, as an HA manager would); the moment it left recovery. */
const promote = (host: string) =>
  promotionTime({ host, port: 5432, user: USER, password: PASSWORD, database: 'postgres' }, (c) => c.query('select pg_promote(false)'));

async function once(db: DbCluster, mode: 'dbproxy' | 'direct', run: number, primary: number, standby: number): Promise<FailoverRun> {
  const [pIp, sIp] = [await db.ip(primary), await db.ip(standby)];
  if (mode === 'dbproxy') {
    await waitFor('the DBProxy on the primary, with the standby an available READER target', async () => {
      const s = await dbpStatus();
      const standbyUp = (s.targets ?? []).some(
        (t: { endpoint: string; role: string; state: string }) => t.endpoint === `${sIp}:5432` && t.role === 'READER' && t.state === 'AVAILABLE',
      );
      return s.currentTarget === `${pIp}:5432` && standbyUp && s.readyReplicas === 2;
    });
  }
  const proxies = await serviceAddresses(NS, NAME);
  const connector: Connector =
    mode === 'dbproxy'
      ? { endpoints: proxies.map((host) => ({ host, port: 5432 })), requireWriter: false, user: USER, password: PASSWORD }
      : // connect_timeout=2 as a careful application sets it: a dead pod's address answers nothing.
        { endpoints: [pIp, sIp].map((host) => ({ host, port: 5432 })), requireWriter: true, user: USER, password: PASSWORD, connectTimeoutMs: 2_000 };
  const w = new Workload(CLIENTS, connector, `${sIp}:5432`);
  await w.start();
  await sleep(STEADY_MS);
  const stoppedAt = performance.now();
  w.markStop(stoppedAt);
  await db.kill(primary);
  await sleep(Math.max(0, PROMOTE_AFTER_MS - (performance.now() - stoppedAt)));
  const promotedAt = await promote(sIp);
  await db.makeWriter(standby);
  await w.settle(promotedAt, SETTLE_MAX_MS);
  await w.stop();
  return { mode, run, clients: CLIENTS, promoteAfterMs: PROMOTE_AFTER_MS, ...w.result(promotedAt) };
}

async function main(): Promise<void> {
  mkdirSync(OUT, { recursive: true });
  const stateDir = path.join(ROOT, '.cache/kube/bench-run/state');
  const plane = await startControlPlane({ dir: stateDir });
  process.env['KUBECONFIG'] = plane.kubeconfig;
  const agent = startAgentProcess(plane.kubeconfig, stateDir);
  let operator: Awaited<ReturnType<typeof startOperator>> | undefined;
  try {
    await kubectl(['create', 'namespace', NS]);
    await installCrds();
    const db = await startDbCluster(NS, { name: 'db', user: USER, password: PASSWORD, settings: { max_connections: '200' } });
    await db.startMember(0);
    await db.startMember(1, 0);
    await db.sql(0, 'create table failover_log (id bigserial primary key, client int not null, at timestamptz not null default clock_timestamp())');
    await kubectl(['-n', NS, 'create', 'secret', 'generic', 'app-db', `--from-literal=username=${USER}`, `--from-literal=password=${PASSWORD}`]);
    operator = await startOperator({ name: 'operator', namespace: NS, image: 'dbproxy:dev' });
    await apply([
      {
        apiVersion: 'dbproxy.io/v1alpha1',
        kind: 'DBProxy',
        metadata: { name: NAME, namespace: NS },
        spec: {
          targets: [{ serviceRef: { name: db.rw } }, { serviceRef: { name: db.ro } }],
          auth: [{ secretRef: { name: 'app-db' } }],
          replicas: 2,
          connectionPool: { maxConnectionsPercent: 50 },
          healthCheck: { interval: '1s', failureThreshold: 2 },
        },
      },
    ]);
    const runs: FailoverRun[] = [];
    let primary = 0;
    for (let i = 1; i <= RUNS; i++) {
      for (const mode of ['dbproxy', 'direct'] as const) {
        process.stderr.write(`failover ${i}/${RUNS} ${mode} (db-${primary} → db-${primary + 1})…\n`);
        const r = await once(db, mode, i, primary, primary + 1);
        process.stderr.write(
          `  flip ${r.flipMs?.toFixed(0) ?? '—'} ms, all clients ${r.allClientsMs?.toFixed(0) ?? '—'} ms, errors ${r.errorsBetween}+${r.errorsInside}, drops ${r.drops}, stuck ${r.stuck.length}\n`,
        );
        runs.push(r);
        primary++;
        await db.startMember(primary + 1, primary); // the next failover's standby
      }
    }
    const summary = summarize(runs);
    const md = `On the local control plane (pods in network namespaces, serviceRef targets, the operator flips the pods through their config Secret).\n\n${failoverMarkdown(runs, summary)}`;
    writeFileSync(path.join(OUT, 'failover-cluster.json'), JSON.stringify({ date: new Date().toISOString(), runs, summary }, null, 2) + '\n');
    writeFileSync(path.join(OUT, 'failover-cluster.md'), md);
    process.stdout.write(md + `\nwritten to ${OUT}/failover-cluster.{json,md}\n`);
  } finally {
    await operator?.kill();
    await stopChild(agent, 15_000);
    await plane.stop();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench-failover (control plane) failed: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exit(1);
  },
);
