/**
 * The client limits against a real PostgreSQL 15 with SCRAM users: limits.maxClientConnections and
 * maxClientConnectionsPerUser as node-postgres and psql see them (FATAL 53300, PostgreSQL's words),
 * the startup and authentication timeouts on raw sockets (closed without a message), the 64 KiB
 * cap on a message before authentication, and the metric that counts each.
 */
import { execFile } from 'node:child_process';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import pg from 'pg';
import { serialize } from 'pg-protocol';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startPostgres, type PgInstance } from '../testing/postgres.js';
import { startProxy, type TestProxy } from '../testing/start-proxy.js';
import { waitFor } from '../testing/wait.js';

const run = promisify(execFile);
const A = { name: 'lim_a', password: 'pass-a' };
const B = { name: 'lim_b', password: 'pass-b' };
let db: PgInstance;
let proxy: TestProxy;
const open: pg.Client[] = [];
const sockets: net.Socket[] = [];

beforeAll(async () => {
  db = await startPostgres({ authMethod: 'scram-sha-256', users: [A, B] });
  proxy = await startProxy({
    targets: [`127.0.0.1:${db.port}`],
    auth: { method: 'scram', users: [A, B].map((u) => ({ username: u.name, password: u.password })) },
    pool: { maxConnections: 4 },
    limits: { maxClientConnections: 4, maxClientConnectionsPerUser: 2, startupTimeout: '1s', authenticationTimeout: '1s' },
  });
}, 120_000);

afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.end().catch(() => undefined)));
  for (const s of sockets.splice(0)) s.destroy();
  await waitFor(
    () => clients() === 0,
    () => `the proxy to let go of every client: ${clients()}`,
    { timeoutMs: 10_000 },
  );
});

afterAll(async () => {
  await proxy?.stop();
  await db?.stop();
});

function clients(): number {
  return (proxy.server.status() as { clients: { total: number } }).clients.total;
}

async function connect(u: { name: string; password: string }): Promise<pg.Client> {
  const c = new pg.Client({ host: '127.0.0.1', port: proxy.port, user: u.name, password: u.password, database: 'postgres' });
  c.on('error', () => undefined);
  open.push(c);
  await c.connect();
  return c;
}

async function refusal(u: { name: string; password: string }): Promise<{ code?: string; message: string; severity?: string }> {
  return connect(u).then(
    () => {
      throw new Error(`${u.name} was let in`);
    },
    (e: { code?: string; message: string; severity?: string }) => e,
  );
}

async function refusedCount(reason: string): Promise<number> {
  const text = (await proxy.admin('/metrics')).text;
  const m = new RegExp(`^dbproxy_client_connections_refused_total\\{reason="${reason}"\\} (\\d+)`, 'm').exec(text);
  if (!m) throw new Error(`no dbproxy_client_connections_refused_total{reason="${reason}"} in /metrics`);
  return Number(m[1]);
}

/** A raw socket to the proxy that records what it receives and when it closes. */
async function rawSocket(): Promise<{ socket: net.Socket; received: () => Buffer; closed: () => boolean }> {
  const socket = net.connect(proxy.port, '127.0.0.1');
  sockets.push(socket);
  let got = Buffer.alloc(0);
  let closed = false;
  socket.on('data', (d: Buffer) => (got = Buffer.concat([got, d])));
  socket.on('error', () => undefined);
  socket.on('close', () => (closed = true));
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  return { socket, received: () => got, closed: () => closed };
}

describe('limits.maxClientConnectionsPerUser', () => {
  it('refuses a third login of a user with FATAL 53300 "too many connections for role", lets other users in, and room comes back when one leaves', async () => {
    const before = await refusedCount('max_client_connections_per_user');
    const first = await connect(A);
    await connect(A);
    const e = await refusal(A);
    expect(e.code).toBe('53300');
    expect(e.severity).toBe('FATAL');
    expect(e.message).toBe('too many connections for role "lim_a"');
    await connect(B);
    expect(await refusedCount('max_client_connections_per_user')).toBe(before + 1);
    await first.end();
    await waitFor(() => clients() === 2, 'the first client to be gone', { timeoutMs: 5_000 });
    const again = await connect(A);
    expect((await again.query('select current_user as u')).rows[0].u).toBe('lim_a');
  });
});

describe('limits.maxClientConnections', () => {
  it('refuses the connection past the pod limit with FATAL 53300 "sorry, too many clients already", to node-postgres and to psql', async () => {
    const before = await refusedCount('max_client_connections');
    await Promise.all([connect(A), connect(A), connect(B), connect(B)]);
    const e = await refusal(B);
    expect(e.code).toBe('53300');
    expect(e.message).toBe('sorry, too many clients already');
    // psql tries SSL first (sslmode=prefer): the error answers its SSLRequest, and libpq reports it.
    const psql = await run('psql', ['-X', '-h', '127.0.0.1', '-p', String(proxy.port), '-U', B.name, '-d', 'postgres', '-c', 'select 1'], {
      env: { ...process.env, PGPASSWORD: B.password, PGCONNECT_TIMEOUT: '10' },
    }).then(
      () => ({ stderr: 'psql succeeded' }),
      (err: { stderr: string }) => err,
    );
    expect(psql.stderr).toContain('FATAL:  sorry, too many clients already');
    expect(await refusedCount('max_client_connections')).toBe(before + 2);
    // The refused ones were never counted as clients; the four still work.
    expect(clients()).toBe(4);
    for (const c of open.slice(0, 4)) expect((await c.query('select 1 as n')).rows[0].n).toBe(1);
  });
});

describe('limits.startupTimeout', () => {
  it.each([
    ['sends nothing', Buffer.alloc(0)],
    ['sends half a StartupMessage', serialize.startup({ user: A.name, database: 'postgres' }).subarray(0, 12)],
    ['sends an SSLRequest (answered N) and nothing after', serialize.requestSsl()],
  ])('closes a connection that %s, without a message', async (_what, bytes) => {
    const before = await refusedCount('startup_timeout');
    const s = await rawSocket();
    if (bytes.length) s.socket.write(bytes);
    await waitFor(s.closed, 'the proxy to close the stalled connection', { timeoutMs: 10_000 });
    expect(s.received().toString('latin1')).toBe(bytes.length === 8 ? 'N' : '');
    expect(await refusedCount('startup_timeout')).toBe(before + 1);
  });
});

describe('limits.authenticationTimeout', () => {
  it('closes a client that stalls in its SCRAM exchange, without a message, as PostgreSQL does', async () => {
    const before = await refusedCount('authentication_timeout');
    const s = await rawSocket();
    s.socket.write(serialize.startup({ user: A.name, database: 'postgres' }));
    await waitFor(() => s.received().length > 0, 'the SASL request');
    const r = s.received();
    expect(String.fromCharCode(r[0]!)).toBe('R');
    expect(r.readInt32BE(5)).toBe(10); // AuthenticationSASL
    const asked = r.length;
    await waitFor(s.closed, 'the proxy to close the stalled login', { timeoutMs: 10_000 });
    expect(s.received().length).toBe(asked); // nothing after the request: no ErrorResponse
    expect(await refusedCount('authentication_timeout')).toBe(before + 1);
  });

  it('does not touch a client that logged in: it outlives both timeouts', async () => {
    const c = await connect(A);
    await sleep(2_500);
    expect((await c.query('select 2 as n')).rows[0].n).toBe(2);
  });

  it('caps a message before authentication at 65,535 bytes: a bigger SASL response ends the connection', async () => {
    const s = await rawSocket();
    s.socket.write(serialize.startup({ user: A.name, database: 'postgres' }));
    await waitFor(() => s.received().length > 0, 'the SASL request');
    const asked = s.received().length;
    const head = Buffer.alloc(5);
    head[0] = 0x70; // 'p'
    head.writeInt32BE(100_000, 1);
    s.socket.write(head);
    await waitFor(s.closed, 'the proxy to end the connection', { timeoutMs: 5_000 });
    const reply = s.received().subarray(asked);
    expect(String.fromCharCode(reply[0]!)).toBe('E');
    expect(reply.toString('latin1')).toContain('more than the limit of 65535');
  });
});
