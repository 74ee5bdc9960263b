/**
 * The proxy against a real PostgreSQL 15: authentication, pooling limits, borrow timeouts, dirty
 * disconnects, cancel, idle timeout, reload, malformed input.
 */
import net from 'node:net';
import pg from 'pg';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nativeUnavailable } from './io/native-conn.js';
import { startPostgres, type PgInstance } from './testing/postgres.js';
import { startProxy, type TestProxy } from './testing/start-proxy.js';
import { waitFor } from './testing/wait.js';

const APP = { name: 'app', password: 'app-secret' };

let db: PgInstance;

beforeAll(async () => {
  db = await startPostgres({ authMethod: 'scram-sha-256', users: [{ ...APP }], settings: { max_connections: '60' } });
  await db.query('create table items (id int primary key, note text)');
  await db.query('grant all on items to app');
}, 120_000);

afterAll(async () => {
  await db?.stop();
});

function target() {
  return [{ host: db.host, port: db.port }];
}

function users() {
  return [{ username: APP.name, password: APP.password }];
}

async function connect(proxy: TestProxy, password = APP.password): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: proxy.url(APP.name, password) });
  await c.connect();
  return c;
}

/** Backends the proxy holds for user app, as PostgreSQL sees them. */
async function backendCount(): Promise<number> {
  const r = await db.query(`select count(*)::int as n from pg_stat_activity where usename = 'app' and backend_type = 'client backend'`);
  return (r.rows[0] as { n: number }).n;
}

describe.each(['scram', 'md5'] as const)('client authentication (%s)', (method) => {
  let proxy: TestProxy;
  beforeAll(async () => {
    proxy = await startProxy({ targets: target(), auth: { method, users: users() }, pool: { maxConnections: 2 } });
  });
  afterAll(() => proxy.stop());

  it('accepts the right password and runs queries on the database', async () => {
    const c = await connect(proxy);
    const r = await c.query('select current_user as u, 6 * 7 as n');
    expect(r.rows[0]).toEqual({ u: 'app', n: 42 });
    await c.end();
  });

  it('refuses a wrong password with the error PostgreSQL gives', async () => {
    await expect(connect(proxy, 'wrong')).rejects.toMatchObject({
      code: '28P01',
      message: 'password authentication failed for user "app"',
    });
  });

  it('refuses an unknown user with the same error (no user enumeration)', async () => {
    const c = new pg.Client({ connectionString: proxy.url('mallory', 'x') });
    await expect(c.connect()).rejects.toMatchObject({ code: '28P01', message: 'password authentication failed for user "mallory"' });
  });
});

describe('data movers', () => {
  it('carries plaintext connections on the mover this run asks for, and says so in /status and /metrics', async () => {
    const expected = process.env['DBPROXY_IO'] === 'node' || nativeUnavailable() !== undefined ? 'node' : 'native';
    const proxy = await startProxy({ targets: target(), auth: { method: 'scram', users: users() }, pool: { maxConnections: 2 } });
    try {
      const c = await connect(proxy);
      expect((await c.query('select 1 as n')).rows[0]).toEqual({ n: 1 });
      const status = JSON.parse((await proxy.admin('/status')).text) as { io: { mover: string; connections: Record<string, Record<string, number>> } };
      expect(status.io.mover).toBe(expected);
      expect(status.io.connections['client']![expected]).toBe(1);
      expect(status.io.connections['backend']![expected]).toBe(1);
      const metrics = (await proxy.admin('/metrics')).text;
      expect(metrics).toContain(`dbproxy_io_connections{leg="client",mover="${expected}"} 1`);
      await c.end();
    } finally {
      await proxy.stop();
    }
  });
});

describe('pooling', () => {
  let proxy: TestProxy;
  beforeAll(async () => {
    proxy = await startProxy({
      targets: target(),
      auth: { method: 'scram', users: users() },
      pool: { maxConnections: 3, maxIdleConnections: 3, borrowTimeout: '20s' },
    });
  });
  afterAll(() => proxy.stop());

  it('runs 40 concurrent clients on at most 3 database connections', async () => {
    const clients = await Promise.all(Array.from({ length: 40 }, () => connect(proxy)));
    let peak = 0;
    const poll = setInterval(() => void backendCount().then((n) => (peak = Math.max(peak, n))), 20);
    const results = await Promise.all(clients.map((c, i) => c.query('select pg_sleep(0.02), $1::int as i', [i])));
    clearInterval(poll);
    peak = Math.max(peak, await backendCount());
    expect(results.map((r) => r.rows[0].i)).toEqual(clients.map((_c, i) => i));
    expect(peak).toBeGreaterThan(0);
    expect(peak).toBeLessThanOrEqual(3);
    await Promise.all(clients.map((c) => c.end()));
  });

  it('keeps a transaction on one backend from BEGIN to COMMIT', async () => {
    const c = await connect(proxy);
    await c.query('begin');
    const a = await c.query('select pg_backend_pid() as pid');
    const others = await Promise.all(Array.from({ length: 5 }, () => connect(proxy)));
    await Promise.all(others.map((o) => o.query('select 1')));
    const b = await c.query('select pg_backend_pid() as pid');
    await c.query('commit');
    expect(b.rows[0].pid).toBe(a.rows[0].pid);
    await Promise.all([c, ...others].map((o) => o.end()));
  });

  it('shows pools and clients in /status and the RDS-named metrics in /metrics', async () => {
    const c = await connect(proxy);
    await c.query('select 1');
    const status = JSON.parse((await proxy.admin('/status')).text);
    expect(status.target).toBe(`${db.host}:${db.port}`);
    expect(status.pools[0]).toMatchObject({ database: 'postgres', user: 'app', maxConnections: 3 });
    expect(status.clients.total).toBeGreaterThanOrEqual(1);
    const metrics = (await proxy.admin('/metrics')).text;
    for (const name of [
      'dbproxy_client_connections',
      'dbproxy_database_connections{database="postgres",user="app",endpoint="writer",state="idle"}',
      'dbproxy_database_connections_currently_session_pinned',
      'dbproxy_borrow_latency_seconds_bucket',
      'dbproxy_borrow_timeouts_total',
      'dbproxy_target_generation',
      'dbproxy_failovers_total',
    ]) {
      expect(metrics).toContain(name);
    }
    expect((await proxy.admin('/healthz')).status).toBe(200);
    expect((await proxy.admin('/readyz')).status).toBe(200);
    await c.end();
  });
});

describe('limits and failures', () => {
  let proxy: TestProxy;
  beforeAll(async () => {
    proxy = await startProxy({
      targets: target(),
      auth: { method: 'scram', users: users() },
      pool: { maxConnections: 1, maxIdleConnections: 1, borrowTimeout: '300ms' },
      idleClientTimeout: '1s',
    });
  });
  afterAll(() => proxy.stop());

  it('gives a clear 53300 error when no connection frees up within the borrow timeout', async () => {
    const holder = await connect(proxy);
    await holder.query('begin');
    const waiter = await connect(proxy);
    await expect(waiter.query('select 1')).rejects.toMatchObject({ code: '53300', message: expect.stringMatching(/timed out after 300 ms/) });
    // The client survives the error and works once the connection is free.
    await holder.query('commit');
    expect((await waiter.query('select 2 as n')).rows[0].n).toBe(2);
    const metrics = (await proxy.admin('/metrics')).text;
    expect(metrics).toMatch(/dbproxy_borrow_timeouts_total\{database="postgres",user="app",endpoint="writer"\} [1-9]/);
    await Promise.all([holder.end(), waiter.end()]);
  });

  it('rolls back a client that disconnects mid-transaction before anyone else gets its backend', async () => {
    const dirty = await connect(proxy);
    await dirty.query('begin');
    await dirty.query(`insert into items values (1, 'uncommitted')`);
    await dirty.query(`set local statement_timeout = '1ms'`);
    dirty.on('error', () => {}); // we are about to cut its socket
    (dirty as unknown as { connection: { stream: net.Socket } }).connection.stream.destroy();
    const next = await connect(proxy);
    const r = await next.query(`select count(*)::int as n, current_setting('statement_timeout') as st from items where id = 1`);
    expect(r.rows[0]).toEqual({ n: 0, st: '0' });
    const tx = await next.query('select now() = statement_timestamp() as fresh');
    expect(tx.rows[0].fresh).toBe(true); // not inside the old transaction
    await next.end();
    // Both clients are gone from the proxy's books, the one that vanished mid-transaction too.
    await waitFor(async () => JSON.parse((await proxy.admin('/status')).text).clients.total === 0, 'the clients to be forgotten');
  });

  it('closes the backend of a client that disconnects while a query is running', async () => {
    const busy = await connect(proxy);
    busy.on('error', () => {}); // we are about to cut its socket
    const running = busy.query('select pg_sleep(30)').catch(() => undefined);
    await waitFor(
      async () => (await db.query(`select count(*)::int as n from pg_stat_activity where query = 'select pg_sleep(30)' and state = 'active'`)).rows[0].n === 1,
      'the sleep to start',
    );
    (busy as unknown as { connection: { stream: net.Socket } }).connection.stream.destroy();
    await running;
    // Not reused: closed, and it counts against the pod's connection budget until it is gone (the
    // server reads its Terminate only after pg_sleep, so the proxy cuts it 5 s after sending it).
    await waitFor(async () => JSON.parse((await proxy.admin('/status')).text).connectionBudget.writer.inUse === 0, 'the abandoned backend to be gone', {
      timeoutMs: 15_000,
    });
    const next = await connect(proxy);
    expect((await next.query('select 1 as n')).rows[0].n).toBe(1);
    await next.end();
  });

  it('forwards a cancel request to the backend running the query', async () => {
    const sql = postgres({ host: proxy.host, port: proxy.port, user: APP.name, password: APP.password, database: 'postgres', max: 1, onnotice: () => {} });
    const q = sql`select pg_sleep(20)`;
    const result = q.then(
      () => 'finished',
      (e: Error & { code?: string }) => e.code,
    );
    await waitFor(
      async () =>
        (await db.query(`select count(*)::int as n from pg_stat_activity where query like 'select pg_sleep(20)%' and state = 'active'`)).rows[0].n === 1,
      'the sleep to start',
    );
    q.cancel();
    expect(await result).toBe('57014');
    await sql.end();
  });

  it('closes clients idle longer than idleClientTimeout with 57P05', async () => {
    const c = await connect(proxy);
    const ended = new Promise<Error>((resolve) => c.on('error', resolve));
    expect((await ended).message).toMatch(/idle-session timeout/);
  });
});

describe('malformed input', () => {
  let proxy: TestProxy;
  beforeAll(async () => {
    proxy = await startProxy({ targets: target(), auth: { method: 'scram', users: users() }, maxMessageLength: 65536 });
  });
  afterAll(() => proxy.stop());

  /** Sends raw bytes; resolves with everything the proxy answered before closing. */
  function raw(bytes: Buffer[]): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const s = net.connect(proxy.port, proxy.host);
      const got: Buffer[] = [];
      s.on('connect', () => bytes.forEach((b) => s.write(b)));
      s.on('data', (d) => got.push(d));
      s.on('close', () => resolve(Buffer.concat(got)));
      s.on('error', reject);
      s.setTimeout(10_000, () => s.destroy(new Error('proxy did not close the connection')));
    });
  }

  it.each([
    ['garbage before startup', [Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n')]],
    ['a startup packet with a bad length', [Buffer.from([0, 0, 0, 2, 0, 3, 0, 0])]],
    ['an unsupported protocol version', [Buffer.from([0, 0, 0, 8, 0, 9, 0, 0])]],
  ])('answers %s with a protocol error and closes only that client', async (_name, bytes) => {
    const healthy = await connect(proxy);
    const reply = await raw(bytes);
    expect(reply[0]).toBe(0x45); // ErrorResponse
    expect(reply.toString('latin1')).toMatch(/C(08P01|0A000)/);
    expect((await healthy.query('select 1 as n')).rows[0].n).toBe(1);
    await healthy.end();
  });

  it('ends a client that sends an oversized message after login, with 54000', async () => {
    const c = await connect(proxy);
    c.on('error', () => {}); // the connection ends after the error, as with PostgreSQL
    const err = (await c.query(`select '${'x'.repeat(70_000)}'`).catch((e: unknown) => e)) as Error & { code?: string };
    expect(err.code).toBe('54000');
    expect(err.message).toMatch(/more than the limit of 65536/);
    const healthy = await connect(proxy);
    expect((await healthy.query('select 1 as n')).rows[0].n).toBe(1);
    await healthy.end();
  });

  it('refuses a session that asks for standard_conforming_strings = off (the classifier assumes on)', async () => {
    const c = new pg.Client({ connectionString: proxy.url(APP.name, APP.password), options: '-c standard_conforming_strings=off' });
    await expect(c.connect()).rejects.toMatchObject({ code: '0A000', message: expect.stringMatching(/standard_conforming_strings = on/) });
  });

  it('survives a client that connects and never says anything (half-open)', async () => {
    const s = net.connect(proxy.port, proxy.host);
    await new Promise((r) => s.on('connect', r));
    const healthy = await connect(proxy);
    expect((await healthy.query('select 1 as n')).rows[0].n).toBe(1);
    s.destroy();
    await healthy.end();
  });
});

describe('config reload', () => {
  it('applies a new pool size without dropping connected clients', async () => {
    const proxy = await startProxy({ targets: target(), auth: { method: 'scram', users: users() }, pool: { maxConnections: 1 } });
    const c = await connect(proxy);
    await c.query('select 1');
    const { parseConfig } = await import('../../contract/config/load.js');
    proxy.server.applyConfig(
      parseConfig(
        { listen: '127.0.0.1:0', admin: { listen: '127.0.0.1:0' }, targets: target(), auth: { method: 'scram', users: users() }, pool: { maxConnections: 4 } },
        'test',
      ),
    );
    const status = JSON.parse((await proxy.admin('/status')).text);
    expect(status.pools[0].maxConnections).toBe(4);
    expect((await c.query('select 2 as n')).rows[0].n).toBe(2);
    await c.end();
    await proxy.stop();
  });
});
