/**
 * The stop signal's drain against real PostgreSQL: a client mid-transaction commits, idle clients get
 * FATAL 57P01, new connections are refused, and a node-postgres Pool running transactions in a loop
 * loses none while its connections move to a second proxy (what a rolling restart does).
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostgres, type PgInstance } from './testing/postgres.js';
import { startProxy, type TestProxy } from './testing/start-proxy.js';
import { startTxLoop } from './testing/tx-loop.js';
import { waitFor } from './testing/wait.js';

let db: PgInstance;
const proxies: TestProxy[] = [];

beforeAll(async () => {
  db = await startPostgres({ authMethod: 'trust', settings: { max_connections: '60' } });
  await db.query('create table drained (n int)');
}, 120_000);
afterAll(async () => {
  await Promise.all(proxies.map((p) => p.stop()));
  await db?.stop();
});

async function proxy(extra: Record<string, unknown> = {}): Promise<TestProxy> {
  const p = await startProxy({ targets: [{ host: '127.0.0.1', port: db.port }], auth: { method: 'trust' }, pool: { maxConnections: 10 }, ...extra });
  proxies.push(p);
  return p;
}

function client(p: TestProxy): pg.Client {
  return new pg.Client({ host: p.host, port: p.port, user: 'postgres', database: 'postgres' });
}

/** The first error the client is sent while it has no query running (pg emits it, and the close after it, as events). */
function toldToGo(c: pg.Client): Promise<Error & { code?: string }> {
  return new Promise((resolve) => c.on('error', resolve));
}

const rows = async (): Promise<number> => Number((await db.query('select count(*) as n from drained')).rows[0].n);

describe('drain on the stop signal', () => {
  it('lets a transaction finish, tells idle clients 57P01, refuses new ones, and ends without waiting for the timeout', async () => {
    const p = await proxy();
    const busy = client(p);
    const idle = client(p);
    await busy.connect();
    await idle.connect();
    await busy.query('begin');
    await busy.query('insert into drained (n) values (100)');
    const idleTold = toldToGo(idle);
    const busyTold = toldToGo(busy);

    // A drain timeout far above the test's own: the drain can only end because the clients left.
    const stopped = p.server.shutdown(120_000);
    expect((await p.admin('/readyz')).status).toBe(503);
    expect(((await (await fetch(`http://127.0.0.1:${p.adminPort}/status`)).json()) as { shutdown: { phase: string } }).shutdown.phase).toBe('draining');
    expect((await p.admin('/metrics')).text).toMatch(/^dbproxy_draining 1$/m);
    expect((await idleTold).code).toBe('57P01');

    const late = client(p);
    await expect(late.connect()).rejects.toThrow();

    // The busy client is not cut off: its transaction goes on and commits.
    await busy.query('select pg_sleep(0.3)');
    await busy.query('insert into drained (n) values (100)');
    await busy.query('commit');
    const told = await busyTold;
    expect(told.code).toBe('57P01');
    expect(told.message).toBe('terminating connection due to administrator command');
    await stopped;
    expect(Number((await db.query('select count(*) as n from drained where n = 100')).rows[0].n)).toBe(2);
    // The pooled database connections were closed (Terminate), not left to time out.
    await waitFor(
      async () =>
        Number((await db.query("select count(*) as n from pg_stat_activity where backend_type = 'client backend' and pid <> pg_backend_pid()")).rows[0].n) ===
        0,
      'the proxy’s database connections to close',
      { timeoutMs: 10_000 },
    );
  }, 30_000);

  it('during the delay it is unready but still serves new clients; then tells them to go', async () => {
    const p = await proxy({ shutdown: { delay: '1s' } });
    const stopped = p.server.shutdown();
    expect((await p.admin('/readyz')).text).toMatch(/shutting down \(unready\)/);
    const c = client(p);
    await c.connect();
    const told = toldToGo(c);
    expect((await c.query('select 7 as n')).rows[0].n).toBe(7);
    expect((await told).code).toBe('57P01');
    await stopped;
  }, 30_000);

  it('closes clients still in a transaction at the drain timeout', async () => {
    const p = await proxy();
    const c = client(p);
    await c.connect();
    await c.query('begin');
    const told = toldToGo(c);
    await p.server.shutdown(300);
    await told; // the connection was closed under it
    await expect(c.query('select 1')).rejects.toThrow();
  }, 30_000);

  it('a node-postgres Pool in a transaction loop loses no transaction while its connections move to another proxy', async () => {
    await db.query('truncate drained');
    const a = await proxy();
    const b = await proxy();
    let target: TestProxy = a;
    const loop = startTxLoop({ pick: () => target, user: 'postgres', workers: 6, table: 'drained', sleepSeconds: 0.01 });
    await waitFor(() => loop.counts.ok >= 60, 'transactions through proxy a', { timeoutMs: 20_000 });
    // The endpoints update (new connections go to b), then a gets its stop signal.
    target = b;
    await a.server.shutdown(120_000);
    const atStop = loop.counts.ok;
    await waitFor(() => loop.counts.ok >= atStop + 60, 'transactions through proxy b', { timeoutMs: 20_000 });
    const counts = await loop.stop();
    console.log(`drain: transactions ok ${counts.ok}, failed ${counts.failed}, retried before BEGIN ${counts.retried}, reconnects ${counts.reconnects}`);
    expect(counts.failures).toEqual([]);
    expect(counts.failed).toBe(0);
    // Every connection the Pool had on proxy a was told to go and replaced.
    expect(counts.reconnects + counts.retried).toBeGreaterThan(0);
    expect(await rows()).toBe(counts.ok);
  }, 60_000);
});
