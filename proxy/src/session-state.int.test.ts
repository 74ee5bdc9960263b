/**
 * Session state under multiplexing, against real PostgreSQL with the pool forced small: no client
 * ever sees another's settings, role, temp table, prepared statement, cursor, advisory lock or LISTEN,
 * and the client that set the state still sees it. Real drivers with named prepared statements.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import pg from 'pg';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostgres, type PgInstance } from './testing/postgres.js';
import { startProxy, type TestProxy } from './testing/start-proxy.js';

const run = promisify(execFile);
const APP = { name: 'app', password: 'app-secret' };
let db: PgInstance;
let proxy: TestProxy;

beforeAll(async () => {
  db = await startPostgres({ users: [{ ...APP }, { name: 'auditor', password: 'x' }], settings: { max_connections: '40' } });
  await db.query('grant auditor to app');
  await db.query('create table pt (id int primary key, v text)');
  await db.query('grant all on pt to app');
  await db.query(`insert into pt select g, 'v' || g from generate_series(1, 100) g`);
  proxy = await startProxy({
    targets: [{ host: db.host, port: db.port }],
    auth: { method: 'scram', users: [{ username: APP.name, password: APP.password }] },
    pool: { maxConnections: 1, borrowTimeout: '30s' },
  });
}, 120_000);

afterAll(async () => {
  await proxy?.stop();
  await db?.stop();
});

async function client(): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: proxy.url(APP.name, APP.password) });
  await c.connect();
  return c;
}

async function one<T = unknown>(c: pg.Client, sql: string): Promise<T> {
  return Object.values((await c.query(sql)).rows[0] as Record<string, unknown>)[0] as T;
}

describe('no leaks between clients sharing one backend', () => {
  it('search_path, TimeZone and application_name set with SET follow their client only', async () => {
    const a = await client();
    const b = await client();
    const defaultPath = await one(b, 'show search_path');
    await a.query(`set search_path = 'a_schema'`);
    await a.query(`set timezone = 'Asia/Tokyo'`);
    await a.query(`set application_name = 'client-a'`);
    // b borrows the same (only) backend next: it must see its own defaults.
    expect(await one(b, 'show search_path')).toBe(defaultPath);
    expect(await one(b, 'show timezone')).not.toBe('Asia/Tokyo');
    expect(await one(b, `select current_setting('application_name')`)).toBe('');
    // and a still sees what it set, on whatever backend it gets.
    expect(await one(a, 'show search_path')).toBe('a_schema');
    expect(await one(a, 'show timezone')).toBe('Asia/Tokyo');
    expect(await one(a, `select current_setting('application_name')`)).toBe('client-a');
    await Promise.all([a.end(), b.end()]);
  });

  it('RESET and SETs rolled back with their transaction are honoured', async () => {
    const a = await client();
    await a.query(`set search_path = 'kept'`);
    await a.query('begin');
    await a.query(`set search_path = 'rolled_back'`);
    await a.query('rollback');
    const b = await client();
    await b.query('select 1');
    expect(await one(a, 'show search_path')).toBe('kept');
    await a.query('reset search_path');
    await b.query('select 1');
    expect(await one(a, 'show search_path')).toBe('"$user", public');
    await a.query(`select set_config('search_path', 'via_set_config', false)`);
    await b.query('select 1');
    expect(await one(a, 'show search_path')).toBe('via_set_config');
    await Promise.all([a.end(), b.end()]);
  });

  it('a SET inside a failed statement is not replayed', async () => {
    const a = await client();
    await expect(a.query(`set search_path = 'never'; select 1/0`)).rejects.toThrow(/division by zero/);
    const b = await client();
    await b.query('select 1');
    expect(await one(a, 'show search_path')).not.toBe('never');
    await Promise.all([a.end(), b.end()]);
  });

  it.each([
    ['role', 'set role auditor', 'select current_user', 'auditor', 'app'],
    ['temp table', 'create temp table tt (x int)', `select count(*)::int from pg_class where relname = 'tt' and relpersistence = 't'`, 1, 0],
    ['SQL prepared statement', 'prepare q as select 42', `select count(*)::int from pg_prepared_statements where name = 'q'`, 1, 0],
    ['cursor with hold', 'declare c cursor with hold for select 1', `select count(*)::int from pg_cursors where name = 'c'`, 1, 0],
    [
      'advisory lock',
      'select pg_advisory_lock(4242)',
      `select count(*)::int from pg_locks where locktype = 'advisory' and objid = 4242 and pid = pg_backend_pid()`,
      1,
      0,
    ],
    ['LISTEN', 'listen leak_channel', `select count(*)::int from pg_listening_channels() c where c = 'leak_channel'`, 1, 0],
  ])('%s: pins the client that made it; others never see it', async (_name, make, look, own, others) => {
    const a = await client();
    await a.query(make);
    expect(await one(a, look)).toBe(own);
    // The pool has one backend and a holds it pinned: b must wait for a to leave.
    const b = await client();
    const bSees = one(b, look);
    const status = JSON.parse((await proxy.admin('/status')).text);
    expect(status.pinnedSessions.length).toBe(1);
    expect(await one(a, look)).toBe(own); // still there for a
    await a.end();
    expect(await bSees).toBe(others);
    await b.end();
  });

  it('counts pins by reason and exposes the pinned gauge exactly', async () => {
    const a = await client();
    await a.query('select pg_advisory_lock(99)');
    const metrics = (await proxy.admin('/metrics')).text;
    expect(metrics).toMatch(/dbproxy_session_pins_total\{[^}]*reason="advisory_lock"[^}]*\} [1-9]/);
    expect(metrics).toMatch(/^dbproxy_database_connections_currently_session_pinned\{[^}]*\} 1$/m);
    await a.end();
    await new Promise((r) => setTimeout(r, 100));
    expect((await proxy.admin('/metrics')).text).toMatch(/^dbproxy_database_connections_currently_session_pinned\{[^}]*\} 0$/m);
    expect((await proxy.admin('/metrics')).text).not.toMatch(/^dbproxy_database_connections_currently_session_pinned\{[^}]*\} [1-9]/m);
  });
});

describe('protocol-level prepared statements do not pin', () => {
  it('node-postgres named queries from many clients on a one-connection pool', async () => {
    const clients = await Promise.all(Array.from({ length: 12 }, () => client()));
    for (let round = 0; round < 5; round++) {
      const results = await Promise.all(
        clients.map((c, i) => c.query({ name: `by-id-${i % 3}`, text: 'select v from pt where id = $1', values: [((i + round) % 100) + 1] })),
      );
      results.forEach((r, i) => expect(r.rows[0].v).toBe(`v${((i + round) % 100) + 1}`));
    }
    const status = JSON.parse((await proxy.admin('/status')).text);
    expect(status.pinnedSessions).toEqual([]);
    await Promise.all(clients.map((c) => c.end()));
  });

  it('postgres.js with prepare: true at high concurrency', async () => {
    const sql = postgres({ host: proxy.host, port: proxy.port, user: APP.name, password: APP.password, database: 'postgres', max: 20, prepare: true });
    const ids = Array.from({ length: 200 }, (_v, i) => (i % 100) + 1);
    const rows = await Promise.all(ids.map((id) => sql`select v from pt where id = ${id}`));
    expect(rows.map((r) => r[0]!['v'])).toEqual(ids.map((id) => `v${id}`));
    await sql.end();
  });

  it('a statement closed by one client stays usable by another that prepared the same SQL', async () => {
    const a = await client();
    const b = await client();
    await a.query({ name: 's', text: 'select $1::int + 1 as n', values: [1] });
    await b.query({ name: 's', text: 'select $1::int + 1 as n', values: [2] });
    // node-postgres has no close API: send a Close through the protocol directly.
    const conn = (a as unknown as { connection: { close(m: { type: string; name: string }): void; sync(): void; once(e: string, f: () => void): void } })
      .connection;
    const closed = new Promise<void>((resolve) => conn.once('closeComplete', resolve));
    conn.close({ type: 'S', name: 's' });
    conn.sync();
    await closed;
    expect((await b.query({ name: 's', text: 'select $1::int + 1 as n', values: [41] })).rows[0].n).toBe(42);
    a.on('error', () => {});
    await Promise.all([a.end().catch(() => undefined), b.end()]);
  });

  it('pgbench -M prepared through a 1-connection pool: no errors', async () => {
    const env = { ...process.env, PGPASSWORD: APP.password };
    const { stdout } = await run(
      'pgbench',
      ['-h', proxy.host, '-p', String(proxy.port), '-U', APP.name, '-n', '-M', 'prepared', '-c', '8', '-t', '50', '-f', await scriptFile(), 'postgres'],
      { env },
    );
    expect(stdout).toMatch(/number of failed transactions: 0/);
    expect(stdout).toMatch(/number of transactions actually processed: 400\/400/);
  });
});

async function scriptFile(): Promise<string> {
  const { writeFileSync, mkdtempSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const path = await import('node:path');
  const dir = mkdtempSync(path.join(tmpdir(), 'pgbench-'));
  const file = path.join(dir, 'select.sql');
  writeFileSync(file, '\\set id random(1, 100)\nselect v from pt where id = :id;\n');
  return file;
}
