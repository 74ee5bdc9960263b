import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../testing/ports.js';
import { startPostgres, startStandby, type PgInstance } from '../testing/postgres.js';
import { probeEndpoint, type ProbeOptions } from '../../../contract/health/probe.js';

describe('probeEndpoint against real PostgreSQL', () => {
  let primary: PgInstance;
  let standby: PgInstance;
  const sockets = new Set<net.Socket>();
  let silent: net.Server;
  let hangUp: net.Server;

  beforeAll(async () => {
    primary = await startPostgres({
      settings: { max_connections: '42' },
      users: [
        { name: 'prober', password: 'probe-pw' },
        { name: 'blocked', password: 'pw' },
      ],
      hba: ['host all blocked 127.0.0.1/32 reject', 'host all all 127.0.0.1/32 scram-sha-256', 'host replication all 127.0.0.1/32 scram-sha-256'],
    });
    standby = await startStandby(primary);
    // A TCP peer that accepts and never says a word (a hung server), and one that hangs up at once.
    silent = net.createServer((s) => void sockets.add(s));
    hangUp = net.createServer((s) => s.destroy());
    await Promise.all([silent, hangUp].map((srv) => new Promise<void>((r) => srv.listen(0, '127.0.0.1', r))));
  });
  afterAll(async () => {
    for (const s of sockets) s.destroy();
    silent?.close();
    hangUp?.close();
    await standby?.stop();
    await primary?.stop();
  });

  const opts = (port: number, over: Partial<ProbeOptions> = {}): ProbeOptions => ({
    host: '127.0.0.1',
    port,
    user: 'prober',
    password: 'probe-pw',
    timeoutMs: 3_000,
    ...over,
  });
  const portOf = (srv: net.Server) => (srv.address() as net.AddressInfo).port;

  it('a primary: not in recovery, its max_connections and version', async () => {
    expect(await probeEndpoint(opts(primary.port))).toEqual({
      ok: true,
      inRecovery: false,
      maxConnections: 42,
      serverVersion: expect.stringMatching(/^15\.\d+/),
    });
  });

  it('a standby: in recovery', async () => {
    expect(await probeEndpoint(opts(standby.port))).toMatchObject({ ok: true, inRecovery: true, maxConnections: 42 });
  });

  it('a wrong password or an unknown user: AUTH_FAILURE', async () => {
    expect(await probeEndpoint(opts(primary.port, { password: 'wrong' }))).toMatchObject({
      ok: false,
      reason: 'AUTH_FAILURE',
      message: expect.stringContaining('password authentication failed'),
    });
    expect(await probeEndpoint(opts(primary.port, { user: 'nobody' }))).toMatchObject({ ok: false, reason: 'AUTH_FAILURE' });
  });

  it('rejected by pg_hba: AUTH_FAILURE', async () => {
    expect(await probeEndpoint(opts(primary.port, { user: 'blocked', password: 'pw' }))).toMatchObject({
      ok: false,
      reason: 'AUTH_FAILURE',
      message: expect.stringContaining('pg_hba.conf'),
    });
  });

  it('a missing database: CONNECTION_FAILED', async () => {
    expect(await probeEndpoint(opts(primary.port, { database: 'nope' }))).toMatchObject({
      ok: false,
      reason: 'CONNECTION_FAILED',
      message: expect.stringContaining('"nope"'),
    });
  });

  it('nothing listening: UNREACHABLE', async () => {
    expect(await probeEndpoint(opts(await freePort()))).toMatchObject({ ok: false, reason: 'UNREACHABLE' });
  });

  it('a name that does not resolve: UNREACHABLE', async () => {
    expect(await probeEndpoint(opts(5432, { host: 'no-such-host.invalid' }))).toMatchObject({ ok: false, reason: 'UNREACHABLE' });
  });

  it('a peer that never answers: TIMEOUT', async () => {
    expect(await probeEndpoint(opts(portOf(silent), { timeoutMs: 300 }))).toMatchObject({ ok: false, reason: 'TIMEOUT' });
  });

  it('a peer that hangs up: CONNECTION_FAILED', async () => {
    expect(await probeEndpoint(opts(portOf(hangUp)))).toMatchObject({ ok: false, reason: 'CONNECTION_FAILED' });
  });

  it('leaves no connection behind', async () => {
    for (let i = 0; i < 5; i++) expect((await probeEndpoint(opts(primary.port))).ok).toBe(true);
    // A backend leaves pg_stat_activity a moment after its socket closes: poll, bounded.
    const count = async () =>
      (await primary.query(`select count(*)::int as n from pg_stat_activity where application_name = 'dbproxy-health'`)).rows[0].n as number;
    let n = await count();
    for (let i = 0; i < 50 && n > 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
      n = await count();
    }
    expect(n).toBe(0);
  });
});
