/**
 * Backpressure on both legs, for each mover, against a real PostgreSQL 15 and a proxy process: a
 * client that never reads a 300 MB result holds its backend (PostgreSQL waits in ClientWrite), not
 * the result; a client that floods queries while it waits in the borrow queue, or floods Syncs the
 * proxy answers itself without reading them, is not read past a bound. In each case the proxy's
 * resident memory stays within a bound in bytes and other clients are served meanwhile.
 * Needs `npm run build` (the proxy runs from dist/).
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostgres, type PgInstance } from '../testing/postgres.js';
import { startProxyProcess, type ProxyProcess } from '../testing/proxy-process.js';
import { RawClient, serialize } from '../testing/raw-client.js';
import { waitFor } from '../testing/wait.js';
import { nativeUnavailable } from './native-conn.js';

const MIB = 1024 * 1024;
/** More than the proxy may grow by for one such client: a few high-water marks, chunks and the 1 MiB queue cap, with room for the heap's own noise. */
const GROWTH = 48 * MIB;
/** More than a client can get the proxy to take while it is not read: socket buffers both ways and the queue cap. */
const ACCEPTED = 24 * MIB;

let db: PgInstance;

beforeAll(async () => {
  db = await startPostgres({ authMethod: 'trust' });
}, 120_000);
afterAll(() => db?.stop());

/**
 * Writes what `make` gives, respecting backpressure, until `max` bytes went or the socket has not
 * drained for 2 s (the proxy stopped reading); the bytes the socket took.
 */
async function pushUntilBlocked(c: RawClient, make: () => Buffer, max: number): Promise<number> {
  let sent = 0;
  while (sent < max && !c.socket.destroyed) {
    const b = make();
    sent += b.length;
    if (c.socket.write(b)) continue;
    const drained = await new Promise<boolean>((resolve) => {
      const t = setTimeout(() => resolve(false), 2_000);
      c.socket.once('drain', () => {
        clearTimeout(t);
        resolve(true);
      });
    });
    if (!drained) return sent - c.socket.writableLength;
  }
  return sent - c.socket.writableLength;
}

const unavailable = nativeUnavailable();
if (unavailable) console.warn(`backpressure: io native skipped: ${unavailable}`);

describe.each(unavailable ? (['node'] as const) : (['native', 'node'] as const))('backpressure with io: %s', (io) => {
  let proxy: ProxyProcess;
  let other: pg.Client;

  beforeAll(async () => {
    proxy = await startProxyProcess({ targets: [`127.0.0.1:${db.port}`], auth: { method: 'trust' }, io, pool: { maxConnections: 3 }, logLevel: 'warn' });
    other = new pg.Client({ host: '127.0.0.1', port: proxy.port, user: 'postgres', database: 'postgres' });
    await other.connect();
  });
  afterAll(async () => {
    await other?.end().catch(() => undefined);
    await proxy?.stop();
  });

  const clientsGone = () => waitFor(async () => (await proxy.status()).clients.total === 1, 'the test client to be let go', { timeoutMs: 15_000 });

  it('a client that never reads a 300 MB result holds its backend in ClientWrite, not the result; others are served', async () => {
    const before = proxy.memory().rss;
    const slow = await RawClient.connect(proxy.port);
    slow.socket.pause();
    slow.send(serialize.query("select repeat('x', 1000000) as big, 'slow-reader' from generate_series(1, 300)"));
    await waitFor(
      async () =>
        (await db.query("select 1 from pg_stat_activity where query like '%slow-reader%' and wait_event = 'ClientWrite' and pid <> pg_backend_pid()"))
          .rowCount === 1,
      'PostgreSQL to wait for the proxy to read (ClientWrite)',
      { timeoutMs: 20_000, intervalMs: 100 },
    );
    expect((await other.query('select 41 + 1 as n')).rows[0].n).toBe(42);
    expect(proxy.memory().rss - before).toBeLessThan(GROWTH);
    slow.end();
    await clientsGone();
    expect(proxy.alive()).toBe(true);
  });

  it('a client that floods queries while it waits in the borrow queue is not read past a bound', async () => {
    // The three database connections are held in transactions: the flooder queues.
    const holders = await Promise.all(
      [1, 2].map(async () => {
        const h = new pg.Client({ host: '127.0.0.1', port: proxy.port, user: 'postgres', database: 'postgres' });
        await h.connect();
        await h.query('begin');
        await h.query('select 1');
        return h;
      }),
    );
    await other.query('begin');
    const before = proxy.memory().rss;
    const flood = await RawClient.connect(proxy.port);
    flood.socket.pause();
    const query = serialize.query(`select 1 -- ${'q'.repeat(64 * 1024)}`);
    const accepted = await pushUntilBlocked(flood, () => query, 200 * MIB);
    expect(accepted).toBeLessThan(ACCEPTED);
    expect(proxy.memory().rss - before).toBeLessThan(GROWTH);
    await other.query('commit');
    for (const h of holders) await h.end();
    flood.end();
    await clientsGone();
    expect((await other.query('select 1 as n')).rows[0].n).toBe(1);
  });

  it('a client that floods Syncs (answered by the proxy itself) without reading is not read past a bound', async () => {
    const before = proxy.memory().rss;
    const c = await RawClient.connect(proxy.port);
    c.socket.pause();
    const syncs = Buffer.concat(Array.from({ length: 13_000 }, () => serialize.sync()));
    const accepted = await pushUntilBlocked(c, () => syncs, 200 * MIB);
    expect(accepted).toBeLessThan(ACCEPTED);
    expect(proxy.memory().rss - before).toBeLessThan(GROWTH);
    expect((await other.query('select 2 as n')).rows[0].n).toBe(2);
    c.end();
    await clientsGone();
  });
});
