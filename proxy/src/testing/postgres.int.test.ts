import { existsSync } from 'node:fs';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostgres, startStandby, type PgInstance } from './postgres.js';
import { waitFor } from './wait.js';

/** Connects once with a connection string and returns the error's SQLSTATE or network code, if any. */
async function connectError(connectionString: string): Promise<string | undefined> {
  const c = new pg.Client({ connectionString });
  c.on('error', () => undefined);
  try {
    await c.connect();
    await c.query('select 1');
    return undefined;
  } catch (err) {
    return (err as { code?: string }).code ?? (err as Error).message;
  } finally {
    await c.end().catch(() => undefined);
  }
}

describe('startPostgres', () => {
  let db: PgInstance;
  beforeAll(async () => {
    db = await startPostgres({
      settings: { max_connections: '37' },
      users: [
        { name: 'app', password: "it's secret" },
        { name: 'admin', password: 'admin-pw', superuser: true },
      ],
    });
  });
  afterAll(() => db?.stop());

  it('listens on loopback with the requested settings and fsync off', async () => {
    expect(db.host).toBe('127.0.0.1');
    const r = await db.query(
      `select current_setting('max_connections') as m, current_setting('fsync') as f, current_setting('listen_addresses') as l, version() as v`,
    );
    expect(r.rows[0]).toMatchObject({ m: '37', f: 'off', l: '127.0.0.1' });
    expect(r.rows[0].v).toMatch(/^PostgreSQL 15\./);
  });

  it('creates the users, with their passwords and roles, and refuses a wrong password', async () => {
    expect(await connectError(db.connectionString('app', "it's secret"))).toBeUndefined();
    expect(await connectError(db.connectionString('app', 'wrong'))).toBe('28P01');
    const roles = await db.query(`select rolname, rolsuper from pg_roles where rolname in ('app', 'admin') order by rolname`);
    expect(roles.rows).toEqual([
      { rolname: 'admin', rolsuper: true },
      { rolname: 'app', rolsuper: false },
    ]);
  });

  it('uses scram-sha-256 by default', async () => {
    const r = await db.query(`select rolpassword from pg_authid where rolname = 'app'`);
    expect(r.rows[0].rolpassword).toMatch(/^SCRAM-SHA-256\$/);
    expect(await connectError(db.connectionString(db.superuser, 'not-the-password'))).toBe('28P01');
  });

  it('passes query parameters through', async () => {
    const r = await db.query('select $1::int + 1 as n', [41]);
    expect(r.rows[0].n).toBe(42);
  });
});

describe('startPostgres auth methods and custom hba', () => {
  it('trust lets anyone in without a password', async () => {
    const db = await startPostgres({ authMethod: 'trust' });
    try {
      expect(await connectError(`postgresql://postgres@127.0.0.1:${db.port}/postgres`)).toBeUndefined();
    } finally {
      await db.stop();
    }
  });

  it('md5 stores md5 passwords; hba lines are used as given', async () => {
    const db = await startPostgres({
      authMethod: 'md5',
      users: [
        { name: 'legacy', password: 'pw' },
        { name: 'blocked', password: 'pw' },
      ],
      hba: ['host all blocked 127.0.0.1/32 reject', 'host all all 127.0.0.1/32 md5'],
    });
    try {
      const r = await db.query(`select rolpassword from pg_authid where rolname = 'legacy'`);
      expect(r.rows[0].rolpassword).toMatch(/^md5/);
      expect(await connectError(db.connectionString('legacy', 'pw'))).toBeUndefined();
      expect(await connectError(db.connectionString('blocked', 'pw'))).toBe('28000');
    } finally {
      await db.stop();
    }
  });

  it('stop() shuts the server down and removes its files', async () => {
    const db = await startPostgres();
    await db.stop();
    expect(existsSync(db.dataDir)).toBe(false);
    expect(await connectError(db.connectionString())).toBe('ECONNREFUSED');
  });
});

describe('startStandby', () => {
  let primary: PgInstance;
  let standby: PgInstance;
  beforeAll(async () => {
    primary = await startPostgres();
    await primary.query('create table t (id int primary key, note text)');
    standby = await startStandby(primary);
  });
  afterAll(async () => {
    await standby?.stop();
    await primary?.stop();
  });

  it('is a streaming replica: in recovery, read-only, and it receives new rows', async () => {
    expect(standby.port).not.toBe(primary.port);
    expect((await standby.query('select pg_is_in_recovery() as r')).rows[0].r).toBe(true);
    await primary.query(`insert into t values (1, 'replicated')`);
    await waitFor(async () => (await standby.query('select note from t where id = 1')).rows[0]?.note === 'replicated', 'the row on the standby', {
      timeoutMs: 30_000,
      intervalMs: 100,
      retryErrors: true,
    });
    await expect(standby.query(`insert into t values (2, 'nope')`)).rejects.toMatchObject({ code: '25006' });
    const senders = await primary.query(`select count(*)::int as n from pg_stat_replication where state = 'streaming'`);
    expect(senders.rows[0].n).toBe(1);
  });

  it('after the primary is killed, promote() makes the standby writable', async () => {
    await primary.kill();
    expect(await connectError(primary.connectionString())).toBe('ECONNREFUSED');
    await standby.promote();
    expect((await standby.query('select pg_is_in_recovery() as r')).rows[0].r).toBe(false);
    await standby.query(`insert into t values (2, 'after failover')`);
    const rows = await standby.query('select id from t order by id');
    expect(rows.rows.map((r) => r.id)).toEqual([1, 2]);
  });
});
