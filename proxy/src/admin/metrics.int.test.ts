/**
 * The RDS-style metrics against a real PostgreSQL 15: per-pool labels, query response latency,
 * target availability, plaintext clients, setup failures by reason, the pool's connection limit and
 * its queue — each read back from /metrics after the traffic that should move it.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseExposition, series, total, type Exposition } from '../testing/exposition.js';
import { startPostgres, type PgInstance } from '../testing/postgres.js';
import { selfSignedCert } from '../testing/tls-cert.js';
import { startProxy, type TestProxy } from '../testing/start-proxy.js';
import { waitFor } from '../testing/wait.js';

const APP = { username: 'app', password: 'app-secret' };
const POOL = { database: 'postgres', user: 'app', endpoint: 'writer' };
const MAX = 3;

let db: PgInstance;
let proxy: TestProxy;
const dir = mkdtempSync(path.join(os.tmpdir(), 'dbproxy-metrics-'));
const { cert, key } = selfSignedCert(dir);

beforeAll(async () => {
  db = await startPostgres({ authMethod: 'scram-sha-256', users: [{ name: APP.username, password: APP.password }] });
  proxy = await startProxy({
    targets: [{ host: db.host, port: db.port }],
    auth: { method: 'scram', users: [APP] },
    tls: { certFile: cert, keyFile: key, require: false },
    pool: { maxConnections: MAX, maxIdleConnections: MAX, borrowTimeout: '20s' },
    // A read-only endpoint with no standby to serve: its availability is 0.
    reader: { listen: '127.0.0.1:0', targets: [] },
  });
}, 120_000);

afterAll(async () => {
  await proxy?.stop();
  await db?.stop();
});

async function scrape(): Promise<Exposition> {
  return parseExposition((await proxy.admin('/metrics')).text);
}

async function client(opts: { tls?: boolean; password?: string; database?: string } = {}): Promise<pg.Client> {
  const c = new pg.Client({
    connectionString: proxy.url(APP.username, opts.password ?? APP.password, opts.database),
    ssl: opts.tls ? { ca: readFileSync(cert), servername: 'localhost' } : false,
  });
  c.on('error', () => {});
  await c.connect();
  return c;
}

describe('proxy metrics with real values', () => {
  it('counts plaintext client connections beside the total', async () => {
    const plain = await client();
    const secure = await client({ tls: true });
    const m = await scrape();
    expect(total(m, 'dbproxy_client_connections')).toBe(2);
    expect(total(m, 'dbproxy_client_connections_no_tls')).toBe(1);
    await Promise.all([plain.end(), secure.end()]);
  });

  it('says the writer is available and the reader endpoint has no standby', async () => {
    const m = await scrape();
    expect(total(m, 'dbproxy_target_available', { role: 'writer' })).toBe(1);
    expect(total(m, 'dbproxy_target_available', { role: 'reader' })).toBe(0);
  });

  it('times each unit of work from its request to ReadyForQuery, per pool, and leaves pinned sessions out', async () => {
    const c = await client();
    const before = total(await scrape(), 'dbproxy_query_response_latency_seconds_count', POOL);
    await c.query('select 1');
    await c.query('begin');
    await c.query('select pg_sleep(0.06)');
    await c.query('commit');
    const m = await scrape();
    // Two units: the lone SELECT, and the transaction from BEGIN to COMMIT (one observation).
    expect(total(m, 'dbproxy_query_response_latency_seconds_count', POOL)).toBe(before + 2);
    expect(total(m, 'dbproxy_query_response_latency_seconds_sum', POOL)).toBeGreaterThanOrEqual(0.06);
    // The transaction is above the 50 ms bucket; the lone SELECT is not.
    const at50ms = total(m, 'dbproxy_query_response_latency_seconds_bucket', { ...POOL, le: '0.05' });
    const all = total(m, 'dbproxy_query_response_latency_seconds_bucket', { ...POOL, le: '+Inf' });
    expect(all - at50ms).toBeGreaterThanOrEqual(1);
    expect(total(m, 'dbproxy_borrow_latency_seconds_count', POOL)).toBeGreaterThanOrEqual(2);

    await c.query('select pg_advisory_lock(7)');
    await c.query('select 1');
    const pinned = await scrape();
    expect(total(pinned, 'dbproxy_query_response_latency_seconds_count', POOL)).toBe(before + 2);
    expect(total(pinned, 'dbproxy_session_pins_total', { ...POOL, reason: 'advisory_lock' })).toBe(1);
    expect(total(pinned, 'dbproxy_database_connections_currently_session_pinned', POOL)).toBe(1);
    // The pinned backend goes back when the session ends: that is no unit of work to time.
    await c.end();
    const ended = await waitFor(async () => {
      const m = await scrape();
      return total(m, 'dbproxy_database_connections', { ...POOL, state: 'active' }) === 0 && m;
    }, 'the pinned backend to be given back');
    expect(total(ended, 'dbproxy_query_response_latency_seconds_count', POOL)).toBe(before + 2);
  });

  it("exports the pool's connection limit, its connections by state and its queue", async () => {
    const holders = await Promise.all(Array.from({ length: MAX }, () => client()));
    for (const h of holders) await h.query('begin');
    const waiter = await client();
    const queued = waiter.query('select 1');
    const m = await waitFor(async () => {
      const s = await scrape();
      return total(s, 'dbproxy_client_connections_waiting', POOL) === 1 && s;
    }, 'the fourth client to queue');
    expect(total(m, 'dbproxy_pool_max_connections', POOL)).toBe(MAX);
    expect(total(m, 'dbproxy_connection_budget_max_connections', { endpoint: 'writer' })).toBe(MAX);
    expect(total(m, 'dbproxy_database_connections', { ...POOL, state: 'active' })).toBe(MAX);
    for (const h of holders) await h.query('commit');
    await queued;
    expect(total(await scrape(), 'dbproxy_client_connections_waiting', POOL)).toBe(0);
    await Promise.all([...holders, waiter].map((c) => c.end()));
  });

  it('counts refused client connections by reason: auth, tls, backend', async () => {
    const before = await scrape();
    const reason = (m: Exposition, r: string) => total(m, 'dbproxy_client_connection_setup_failures_total', { reason: r });

    await expect(client({ password: 'wrong' })).rejects.toMatchObject({ code: '28P01' });
    await expect(client({ database: 'no_such_db' })).rejects.toMatchObject({ code: '3D000' });
    // An SSLRequest answered 'S', then bytes that are no TLS ClientHello.
    const raw = net.connect({ host: '127.0.0.1', port: proxy.port });
    raw.on('error', () => {});
    await new Promise<void>((resolve) => raw.once('connect', () => resolve()));
    const ssl = Buffer.alloc(8);
    ssl.writeInt32BE(8, 0);
    ssl.writeInt32BE(80877103, 4);
    raw.write(ssl);
    await new Promise<void>((resolve) => raw.once('data', () => resolve()));
    raw.write(Buffer.from('this is not a TLS handshake, not at all\r\n'));

    const after = await waitFor(async () => {
      const m = await scrape();
      return reason(m, 'tls') > reason(before, 'tls') && m;
    }, 'the failed TLS handshake to be counted');
    raw.destroy();
    expect(reason(after, 'auth')).toBe(reason(before, 'auth') + 1);
    expect(reason(after, 'backend')).toBe(reason(before, 'backend') + 1);
    expect(reason(after, 'tls')).toBe(reason(before, 'tls') + 1);
    expect(reason(after, 'limits')).toBe(reason(before, 'limits'));
    // The unknown database's pool counted its failed opens with its own labels.
    expect(series(after, 'dbproxy_database_connection_failures_total', { database: 'no_such_db', user: 'app' }).length).toBeGreaterThan(0);
  });
});
