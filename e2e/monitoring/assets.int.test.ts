/**
 * Every proxy metric the chart's dashboard and alerts query is served by a real proxy: a proxy in
 * this process (proxy/src/testing) in front of a real PostgreSQL 15, after traffic that makes its
 * per-pool series (a pool, a pinned session), scraped on its admin port's /metrics.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exposes, parseExposition, series } from '../../proxy/src/testing/exposition.js';
import { startPostgres, type PgInstance } from '../../proxy/src/testing/postgres.js';
import { startProxy, type TestProxy } from '../../proxy/src/testing/start-proxy.js';
import { chartQueries, isOperatorMetric } from './assets.js';

const APP = { username: 'app', password: 'app-secret' };
let db: PgInstance;
let proxy: TestProxy;

beforeAll(async () => {
  db = await startPostgres({ authMethod: 'scram-sha-256', users: [{ name: APP.username, password: APP.password }] });
  proxy = await startProxy({
    targets: [{ host: db.host, port: db.port }],
    auth: { method: 'scram', users: [APP] },
    reader: { listen: '127.0.0.1:0', targets: [] },
  });
}, 120_000);

afterAll(async () => {
  await proxy?.stop();
  await db?.stop();
});

describe("the chart's queries against a real proxy", () => {
  it("name only metrics the proxy's /metrics serves, each with a series", async () => {
    const c = new pg.Client({ connectionString: proxy.url(APP.username, APP.password) });
    await c.connect();
    await c.query('select 1');
    await c.query('select pg_advisory_lock(1)');
    const exposition = parseExposition((await proxy.admin('/metrics')).text);
    await c.end();

    const wanted = [
      ...new Set(
        chartQueries()
          .flatMap((q) => q.names)
          .filter((n) => !isOperatorMetric(n)),
      ),
    ].sort();
    expect(wanted.length).toBeGreaterThan(10);
    expect(wanted.filter((n) => !exposes(exposition, n))).toEqual([]);
    // Served with values, not only declared: each has at least one series after this traffic.
    expect(wanted.filter((n) => series(exposition, n).length === 0)).toEqual([]);
  });
});
