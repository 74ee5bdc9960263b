/**
 * TLS to clients, and failover inside the standalone proxy: a primary and a streaming standby as
 * targets; the primary dies, the standby is promoted, the proxy follows; a client whose transaction
 * was cut keeps its connection, sees the transaction failed, and its ROLLBACK is answered.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostgres, startStandby, type PgInstance } from './testing/postgres.js';
import { startProxy, type TestProxy } from './testing/start-proxy.js';
import { selfSignedCert } from './testing/tls-cert.js';
import { waitFor } from './testing/wait.js';

const APP = { username: 'app', password: 'app-secret' };

/** How this file polls: a 30 s bound, every 100 ms. */
const POLL = { timeoutMs: 30_000, intervalMs: 100 };

describe('TLS to clients', () => {
  let db: PgInstance;
  let proxy: TestProxy;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'dbproxy-tls-'));
  const { cert, key } = selfSignedCert(dir);

  beforeAll(async () => {
    db = await startPostgres({ users: [{ name: APP.username, password: APP.password }] });
    proxy = await startProxy({
      targets: [{ host: db.host, port: db.port }],
      auth: { method: 'scram', users: [APP] },
      tls: { certFile: cert, keyFile: key, require: true },
    });
  }, 120_000);
  afterAll(async () => {
    await proxy?.stop();
    await db?.stop();
  });

  it('serves TLS clients and verifies as the configured certificate', async () => {
    const c = new pg.Client({ connectionString: proxy.url(APP.username, APP.password), ssl: { ca: readFileSync(cert), servername: 'localhost' } });
    await c.connect();
    expect((await c.query('select 1 as n')).rows[0].n).toBe(1);
    await c.end();
  });

  it('refuses a client without TLS when TLS is required', async () => {
    const c = new pg.Client({ connectionString: proxy.url(APP.username, APP.password), ssl: false });
    await expect(c.connect()).rejects.toMatchObject({ code: '28000', message: expect.stringMatching(/requires TLS/) });
  });

  it('works with psql sslmode=require', async () => {
    // Not execFileSync: the proxy runs in this process and must keep serving while psql waits.
    const { stdout: out } = await promisify(execFile)(
      'psql',
      [`host=127.0.0.1 port=${proxy.port} user=app dbname=postgres sslmode=require`, '-Atc', 'select 7'],
      { env: { ...process.env, PGPASSWORD: APP.password } },
    );
    expect(out.toString().trim()).toBe('7');
  });
});

describe('failover in the standalone proxy', () => {
  let primary: PgInstance;
  let standby: PgInstance;
  let proxy: TestProxy;

  beforeAll(async () => {
    primary = await startPostgres({ users: [{ name: APP.username, password: APP.password, superuser: true }] });
    await primary.query('create table t (id int)');
    standby = await startStandby(primary);
    proxy = await startProxy({
      targets: [
        { host: primary.host, port: primary.port },
        { host: standby.host, port: standby.port },
      ],
      auth: { method: 'scram', users: [APP] },
      healthCheck: { interval: '200ms', failureThreshold: 2, timeout: '1s' },
      pool: { maxConnections: 2, borrowTimeout: '30s' },
    });
    await waitFor(
      async () => JSON.parse((await proxy.admin('/status')).text).target === `${primary.host}:${primary.port}`,
      'the proxy to pick the primary',
      POLL,
    );
  }, 180_000);
  afterAll(async () => {
    await proxy?.stop();
    await standby?.stop();
    await primary?.stop();
  });

  it('follows the promoted standby; the cut transaction fails cleanly and the client goes on', async () => {
    const c = new pg.Client({ connectionString: proxy.url(APP.username, APP.password) });
    c.on('error', () => {});
    await c.connect();
    await c.query('insert into t values (1)');
    // Replication is asynchronous: let the standby have row 1 before the primary dies.
    await waitFor(async () => (await standby.query('select count(*)::int as n from t')).rows[0].n === 1, 'the standby to replay row 1', POLL);
    await c.query('begin');
    await c.query('insert into t values (2)');
    const before = JSON.parse((await proxy.admin('/status')).text);

    await primary.kill();
    await standby.promote();
    await waitFor(
      async () => JSON.parse((await proxy.admin('/status')).text).target === `${standby.host}:${standby.port}`,
      'the proxy to follow the new writer',
      POLL,
    );
    const after = JSON.parse((await proxy.admin('/status')).text);
    expect(after.targetGeneration).toBeGreaterThan(before.targetGeneration);

    // Inside the cut transaction: an error, then the proxy answers the ROLLBACK.
    await expect(c.query('insert into t values (3)')).rejects.toMatchObject({ code: expect.stringMatching(/^(08006|25P02)$/) });
    await c.query('rollback');
    // The same client connection now works against the new writer.
    await c.query('insert into t values (4)');
    const rows = (await c.query('select id from t order by id')).rows.map((r) => r.id);
    expect(rows).toEqual([1, 4]);
    expect((await c.query('select pg_is_in_recovery() as r')).rows[0].r).toBe(false);
    expect((await proxy.admin('/metrics')).text).toMatch(/dbproxy_failovers_total [1-9]/);
    await c.end();
  });
});
