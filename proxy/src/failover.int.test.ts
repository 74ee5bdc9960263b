/**
 * Failover in the standalone proxy, as clients see it: the writer is found again in fast rounds (the
 * configured interval here is longer than any wait in this file), a client between transactions
 * keeps its connection and its next statement runs on the new writer with its SETs and prepared
 * statements rebuilt there, a pinned session (whose state died with the server) ends with a FATAL
 * naming it, a statement sent while there is no writer waits for one, and config reloads that keep
 * the targets do not flip.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../contract/config/load.js';
import { startPostgres, startStandby, type PgInstance } from './testing/postgres.js';
import { startProxy, type TestProxy } from './testing/start-proxy.js';
import { waitFor } from './testing/wait.js';

const APP = { username: 'app', password: 'app-secret' };
const POLL = { timeoutMs: 30_000, intervalMs: 50 };
/** Longer than every wait in this file: only the fast rounds can find the new writer in time. */
const SLOW_INTERVAL = '120s';

describe('failover in the standalone proxy: what clients see', () => {
  let primary: PgInstance;
  let standby: PgInstance;
  let proxy: TestProxy;
  const status = async () => JSON.parse((await proxy.admin('/status')).text) as { target: string | null; targetGeneration: number };
  const config = (healthCheck: Record<string, unknown>) => ({
    listen: '127.0.0.1:0',
    admin: { listen: '127.0.0.1:0' },
    targets: [
      { host: primary.host, port: primary.port },
      { host: standby.host, port: standby.port },
    ],
    auth: { method: 'scram', users: [APP] },
    healthCheck,
    pool: { maxConnections: 2, borrowTimeout: '60s' },
  });

  beforeAll(async () => {
    primary = await startPostgres({ users: [{ name: APP.username, password: APP.password, superuser: true }] });
    standby = await startStandby(primary);
    proxy = await startProxy(config({ interval: SLOW_INTERVAL, failureThreshold: 2, timeout: '2s' }));
    await waitFor(async () => (await status()).target === `${primary.host}:${primary.port}`, 'the proxy to pick the primary', POLL);
  }, 180_000);
  afterAll(async () => {
    await proxy?.stop();
    await standby?.stop();
    await primary?.stop();
  });

  it('keeps its target, generation and database connections across reloads that keep the targets', async () => {
    const c = new pg.Client({ connectionString: proxy.url(APP.username, APP.password) });
    await c.connect();
    await c.query('select 1');
    const pids = async () =>
      (await primary.query(`select pid from pg_stat_activity where usename = 'app' and application_name <> 'dbproxy-health' order by pid`)).rows.map(
        (r) => r['pid'] as number,
      );
    const before = { status: await status(), pids: await pids() };
    proxy.server.applyConfig(parseConfig(config({ interval: SLOW_INTERVAL, failureThreshold: 2, timeout: '2s' }), 'test'));
    proxy.server.applyConfig(parseConfig(config({ interval: '100s', failureThreshold: 3, timeout: '2s' }), 'test'));
    proxy.server.applyConfig(parseConfig(config({ interval: SLOW_INTERVAL, failureThreshold: 2, timeout: '2s' }), 'test'));
    await c.query('select 1'); // gives a flip, had there been one, the time to close the idle connection
    expect(await status()).toMatchObject({ target: before.status.target, targetGeneration: before.status.targetGeneration });
    expect(await pids()).toEqual(before.pids);
    expect((await proxy.admin('/metrics')).text).toMatch(/^dbproxy_failovers_total 0$/m);
    await c.end();
  });

  it('after the primary dies, holds a statement sent while there is no writer and runs it on the promoted standby, on the same client connection', async () => {
    const idle = new pg.Client({ connectionString: proxy.url(APP.username, APP.password) });
    const waiting = new pg.Client({ connectionString: proxy.url(APP.username, APP.password) });
    const dropped: string[] = [];
    for (const c of [idle, waiting]) {
      c.on('error', (e) => dropped.push(e.message));
      c.on('end', () => dropped.push('ended'));
      await c.connect();
      await c.query('select 1');
    }
    // Session state that moves with the client: a tracked SET and a named prepared statement.
    await idle.query('set search_path to failover_app, public');
    const named = { name: 'plus_one', text: 'select $1::int + 1 as v', values: [41] };
    expect((await idle.query(named)).rows[0].v).toBe(42);
    // State that cannot move: LISTEN pins the session to its server connection.
    const pinned = new pg.Client({ connectionString: proxy.url(APP.username, APP.password) });
    const pinnedErrors: (Error & { code?: string })[] = [];
    pinned.on('error', (e) => pinnedErrors.push(e));
    await pinned.connect();
    await pinned.query('listen failover_channel');

    await primary.kill();
    // With a 120 s interval, only the fast rounds (started by the closed connections) see this.
    await waitFor(async () => (await status()).target === null, 'the proxy to lose the writer', POLL);
    const held = waiting.query<{ port: number; r: boolean }>('select inet_server_port() as port, pg_is_in_recovery() as r');
    await standby.promote();
    await waitFor(async () => (await status()).target === `${standby.host}:${standby.port}`, 'the proxy to follow the promoted standby', POLL);

    expect((await held).rows[0]).toEqual({ port: standby.port, r: false });
    // A client that was between transactions: its next statement just runs, on the new writer.
    expect((await idle.query('select inet_server_port() as port')).rows[0].port).toBe(standby.port);
    // Rebuilt on the new writer: the SET (at the borrow) and the statement (prepared on demand).
    expect((await idle.query('show search_path')).rows[0].search_path).toBe('failover_app, public');
    expect((await idle.query({ ...named, values: [1] })).rows[0].v).toBe(2);
    expect(dropped).toEqual([]);
    // The pinned session's LISTEN was on the dead server: it ends, saying why, instead of going on without it.
    await waitFor(async () => pinnedErrors.length > 0, 'the pinned session to be ended', POLL);
    expect(pinnedErrors[0]).toMatchObject({
      code: '08006',
      message: expect.stringMatching(/session's state \(listen\) cannot be moved to another connection/),
    });
    expect((await proxy.admin('/metrics')).text).toMatch(/^dbproxy_failovers_total 1$/m);
    await idle.end();
    await waiting.end();
  });
});
