/**
 * TLS on the backend leg against real PostgreSQL 15 with ssl = on (a server certificate from a test
 * CA, pg_hba hostssl only, SCRAM) and one without TLS: every sslmode through a real proxy, checked
 * on the server (pg_stat_ssl), the errors a client sees when the database cannot be reached
 * securely, the health probes over TLS, and a CA file rotated in place.
 */
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { SSL_REQUIRED_MESSAGE, type BackendTls } from '../../../contract/config/backend-tls.js';
import { probeEndpoint } from '../../../contract/health/probe.js';
import { freePort } from '../testing/ports.js';
import { startPostgres, type PgInstance } from '../testing/postgres.js';
import { startProxy, type TestProxy } from '../testing/start-proxy.js';
import { signedCert, testCa } from '../testing/tls-cert.js';
import { waitFor } from '../testing/wait.js';

const APP = { username: 'app', password: 'app-secret' };
const SSL_ON_SERVER = 'select ssl from pg_stat_ssl where pid = pg_backend_pid()';
const dir = mkdtempSync(path.join(os.tmpdir(), 'dbproxy-backend-tls-'));
const ca = testCa(dir, 'db');
const stranger = testCa(dir, 'stranger');
const serverCert = signedCert(ca, dir, 'db-server'); // SAN DNS:localhost, IP:127.0.0.1

let sslDb: PgInstance;
let plainDb: PgInstance;
let proxy: TestProxy | undefined;

beforeAll(async () => {
  const users = [{ name: APP.username, password: APP.password }];
  [sslDb, plainDb] = await Promise.all([
    // Only TLS connections may log in: a plaintext one is refused by pg_hba.
    startPostgres({ ssl: serverCert, users, hba: ['hostssl all all 127.0.0.1/32 scram-sha-256', 'hostssl replication all 127.0.0.1/32 scram-sha-256'] }),
    startPostgres({ users }),
  ]);
}, 120_000);

afterEach(async () => {
  await proxy?.stop();
  proxy = undefined;
});

afterAll(async () => {
  await Promise.all([sslDb?.stop(), plainDb?.stop()]);
  rmSync(dir, { recursive: true, force: true });
});

async function through(db: PgInstance, backendTls: Record<string, unknown>, targets?: unknown[]): Promise<TestProxy> {
  proxy = await startProxy({
    targets: targets ?? [{ host: db.host, port: db.port }],
    auth: { method: 'scram', users: [APP] },
    backendTls,
    healthCheck: { interval: '200ms', timeout: '2s' },
  });
  return proxy;
}

/** Runs `sql` through the proxy as APP: its first value, or the error the client got. */
async function ask(p: TestProxy, sql: string): Promise<{ value?: unknown; error?: { code: string; message: string } }> {
  const c = new pg.Client({ connectionString: p.url(APP.username, APP.password) });
  c.on('error', () => {});
  try {
    await c.connect();
    const r = await c.query(sql);
    return { value: Object.values(r.rows[0] ?? {})[0] };
  } catch (err) {
    const e = err as { code?: string; message: string };
    return { error: { code: e.code ?? '', message: e.message } };
  } finally {
    await c.end().catch(() => undefined);
  }
}

/** The proxy's database connections by mover (its /status). */
const backendMovers = (p: TestProxy) => (p.server.status() as { io: { connections: { backend: Record<string, number> } } }).io.connections.backend;

describe('sslmode through the proxy', () => {
  it('verify-full with the right CA: the database connection is TLS on the server, SCRAM over it, carried by Node sockets', async () => {
    const p = await through(sslDb, { sslmode: 'verify-full', caFile: ca.cert });
    expect(await ask(p, SSL_ON_SERVER)).toEqual({ value: true });
    expect(await ask(p, 'select current_user')).toEqual({ value: 'app' });
    // The native core carries plaintext only: a TLS backend is counted under node, and nothing else is open.
    expect(backendMovers(p)).toEqual({ native: 0, node: 1 });
  });

  it('verify-full with another CA: refused, the client gets 08006 naming the certificate problem', async () => {
    const p = await through(sslDb, { sslmode: 'verify-full', caFile: stranger.cert });
    const r = await ask(p, 'select 1');
    expect(r.error?.code).toBe('08006');
    expect(r.error?.message).toMatch(/securely \(backendTls\.sslmode verify-full\).*(certificate|signature)/i);
  });

  it('verify-full against a certificate for another name: refused', async () => {
    const p = await through(sslDb, { sslmode: 'verify-full', caFile: ca.cert, serverName: 'db.example.com' });
    const r = await ask(p, 'select 1');
    expect(r.error?.code).toBe('08006');
    expect(r.error?.message).toMatch(/db\.example\.com/);
  });

  it('verify-ca accepts the right chain whatever the name', async () => {
    const p = await through(sslDb, { sslmode: 'verify-ca', caFile: ca.cert, serverName: 'db.example.com' });
    expect(await ask(p, SSL_ON_SERVER)).toEqual({ value: true });
  });

  it('require against a server without TLS: refused with libpq’s reason', async () => {
    const p = await through(plainDb, { sslmode: 'require' });
    const r = await ask(p, 'select 1');
    expect(r.error?.code).toBe('08006');
    expect(r.error?.message).toContain(SSL_REQUIRED_MESSAGE);
  });

  it('require without a CA takes any certificate (libpq); with a CA it checks the chain', async () => {
    const p = await through(sslDb, { sslmode: 'require' });
    expect(await ask(p, SSL_ON_SERVER)).toEqual({ value: true });
    await p.stop();
    const q = await through(sslDb, { sslmode: 'require', caFile: stranger.cert });
    expect((await ask(q, 'select 1')).error?.code).toBe('08006');
  });

  it('prefer (the default) against a server without TLS falls back to plaintext, on the plaintext mover', async () => {
    const p = await through(plainDb, {});
    expect(await ask(p, SSL_ON_SERVER)).toEqual({ value: false });
    expect(backendMovers(p)).toEqual({ native: 0, node: 0, [p.server.mover]: 1 });
  });

  it('prefer against a server with TLS uses it', async () => {
    const p = await through(sslDb, { sslmode: 'prefer' });
    expect(await ask(p, SSL_ON_SERVER)).toEqual({ value: true });
  });

  it('disable never uses TLS: plaintext on a plain server, and the hostssl-only server refuses it', async () => {
    const p = await through(plainDb, { sslmode: 'disable' });
    expect(await ask(p, SSL_ON_SERVER)).toEqual({ value: false });
    await p.stop();
    const q = await through(sslDb, { sslmode: 'disable' });
    expect((await ask(q, 'select 1')).error?.message).toMatch(/no encryption/);
  });

  it('a CA file rotated in place is read again by the next connection', async () => {
    const caFile = path.join(dir, 'rotating-ca.crt');
    copyFileSync(stranger.cert, caFile);
    const p = await through(sslDb, { sslmode: 'verify-full', caFile });
    expect((await ask(p, 'select 1')).error?.code).toBe('08006');
    copyFileSync(ca.cert, caFile);
    expect(await ask(p, SSL_ON_SERVER)).toEqual({ value: true });
  });
});

describe('health probes over TLS', () => {
  const tlsOf = (t: Partial<BackendTls>): BackendTls => ({ sslmode: 'verify-full', ca: readFileSync(ca.cert), ...t });
  const probe = (db: PgInstance, tls: BackendTls | undefined) =>
    probeEndpoint({ host: db.host, port: db.port, user: APP.username, password: APP.password, timeoutMs: 5_000, tls });

  it.each([
    ['verify-full, the right CA, a hostssl-only server', () => sslDb, tlsOf({}), { ok: true }],
    ['prefer, a server without TLS (plaintext again)', () => plainDb, { sslmode: 'prefer' }, { ok: true }],
    ['prefer, a hostssl-only server', () => sslDb, { sslmode: 'prefer' }, { ok: true }],
    [
      'verify-full, another CA',
      () => sslDb,
      tlsOf({ ca: readFileSync(stranger.cert) }),
      { ok: false, reason: 'CONNECTION_FAILED', message: expect.stringMatching(/securely/) },
    ],
    [
      'verify-full, another name',
      () => sslDb,
      tlsOf({ serverName: 'db.example.com' }),
      { ok: false, reason: 'CONNECTION_FAILED', message: expect.stringMatching(/db\.example\.com/) },
    ],
    [
      'require, a server without TLS',
      () => plainDb,
      { sslmode: 'require' },
      { ok: false, reason: 'CONNECTION_FAILED', message: expect.stringContaining(SSL_REQUIRED_MESSAGE) },
    ],
    ['no TLS, a hostssl-only server', () => sslDb, undefined, { ok: false, reason: 'AUTH_FAILURE' }],
  ] as const)('%s: %j', async (_, db, tls, expected) => {
    expect(await probe(db(), tls as BackendTls | undefined)).toMatchObject(expected);
  });

  it("the proxy's monitor sees a hostssl-only target as available (and the writer) with verify-full", async () => {
    const down = { host: '127.0.0.1', port: await freePort() };
    const p = await through(sslDb, { sslmode: 'verify-full', caFile: ca.cert }, [{ host: sslDb.host, port: sslDb.port }, down]);
    const writer = `${sslDb.host}:${sslDb.port}`;
    await waitFor(() => (p.server.status() as { target: string | null }).target === writer, 'the TLS-only target to be the writer');
    expect(await ask(p, SSL_ON_SERVER)).toEqual({ value: true });
  });

  it('with sslmode disable the same target never becomes available (the check above can fail)', async () => {
    const down = { host: '127.0.0.1', port: await freePort() };
    const p = await through(sslDb, { sslmode: 'disable' }, [{ host: sslDb.host, port: sslDb.port }, down]);
    const health = await waitFor(() => {
      const t = (p.server.status() as { targets: { endpoint: string; state: string; reason?: string }[] | null }).targets;
      return t?.find((h) => h.endpoint === `${sslDb.host}:${sslDb.port}` && h.state === 'UNAVAILABLE');
    }, 'the probes to mark the target unavailable');
    expect(health.reason).toBe('AUTH_FAILURE');
    expect((p.server.status() as { target: string | null }).target).toBeNull();
  });
});
