/**
 * The classifier's claims checked against real PostgreSQL: a SET it tracks, replayed as
 * `SET name = value` on a fresh session, gives the same setting as the original statement; what it
 * calls transaction-local leaves nothing behind; what it pins really leaves state behind.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostgres, type PgInstance } from '../testing/postgres.js';
import { classify } from './classify.js';
import { decide } from './decide.js';

let db: PgInstance;
const clients: pg.Client[] = [];

beforeAll(async () => {
  db = await startPostgres();
  // search_path values are compared by the schemas they resolve to, so the schemas must exist.
  for (const schema of ['a', '"B c"', 'upper', 'lower', 'x', db.superuser]) await db.query(`create schema if not exists ${schema}`);
}, 120_000);

afterAll(async () => {
  await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
  await db?.stop();
});

async function session(): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: db.connectionString() });
  await c.connect();
  clients.push(c);
  return c;
}

async function setting(c: pg.Client, name: string): Promise<string> {
  const r = await c.query<{ v: string }>('select current_setting($1) as v', [name]);
  return r.rows[0]!.v;
}

const REPLAYED = [
  "set search_path = 'a'",
  'SET search_path TO a, "B c"',
  'SET search_path TO "$user", public',
  "set time zone 'Europe/Paris'",
  'SET TIME ZONE -7',
  'SET "TimeZone" = \'UTC\'',
  "set names 'UTF8'",
  "set schema 'x'",
  'set xml option document',
  'set statement_timeout to 5000',
  "set statement_timeout = '2min'",
  "SET MyApp.User_Id = '42'",
  "set application_name = E'a\\'b'",
  "set application_name = 'a'\n  'b'",
  'set datestyle = iso, dmy',
  "set datestyle to 'SQL, DMY'",
  'set extra_float_digits = -2',
  'set random_page_cost = 1.5',
  'set session characteristics as transaction isolation level repeatable read',
  'set session characteristics as transaction read only',
  'set session characteristics as transaction not deferrable',
  "select set_config('TimeZone', 'America/New_York', false)",
  "select set_config('search_path', 'a, \"B c\", $user', false)",
  "select set_config('search_path', 'Upper, lower', false)",
  "select set_config('app.x', 'it''s', false)",
  "select set_config('datestyle', 'German, DMY', false)",
];

describe('a tracked SET replays to the same setting', () => {
  it.each(REPLAYED)('%j', async (sql) => {
    const effects = classify(sql).statements;
    expect(effects).toHaveLength(1);
    const { kind, name, value } = effects[0]!;
    expect(kind).toBe('set');
    const original = await session();
    await original.query(sql);
    const replayed = await session();
    await replayed.query(`SET ${name!.includes('.') ? name : `"${name}"`} = ${value}`);
    if (name === 'search_path') {
      // Same schemas, same order; the text may differ ($user vs "$user", Upper vs upper), not the meaning.
      const schemas = async (c: pg.Client) => JSON.stringify((await c.query('select current_schemas(false) as s')).rows);
      expect(await schemas(replayed)).toBe(await schemas(original));
    } else {
      expect(await setting(replayed, name!)).toBe(await setting(original, name!));
    }
  });
});

describe('what is called transaction-local leaves nothing behind', () => {
  it.each([
    ["set local statement_timeout = '1s'", 'show statement_timeout'],
    ["select set_config('statement_timeout', '1s', true)", 'show statement_timeout'],
    ['set transaction_read_only = on', 'show transaction_read_only'],
    ["set transaction_isolation = 'serializable'", 'show transaction_isolation'],
    ['set transaction isolation level serializable', 'show transaction_isolation'],
    ['reset transaction isolation level', 'show transaction_isolation'],
    ['create temp table t_drop (x int) on commit drop', "select count(*) from pg_class where relname = 't_drop'"],
    ['declare c cursor for select 1', 'select count(*) from pg_cursors'],
    ['select pg_advisory_xact_lock(7)', "select count(*) from pg_locks where locktype = 'advisory' and pid = pg_backend_pid()"],
  ])('%j', async (sql, probe) => {
    const d = decide(classify(sql), new Set(['EXCLUDE_VARIABLE_SETS']));
    expect(d.pin).toBeUndefined();
    expect(d.track).toEqual([]);
    const c = await session();
    const before = JSON.stringify((await c.query(probe)).rows);
    await c.query('begin');
    await c.query(sql);
    await c.query('commit');
    expect(JSON.stringify((await c.query(probe)).rows)).toBe(before);
  });
});

describe('what pins really leaves state behind the transaction', () => {
  it.each([
    ['select pg_advisory_lock(7)', "select count(*) from pg_locks where locktype = 'advisory' and pid = pg_backend_pid()"],
    ['select pg_try_advisory_lock_shared(8)', "select count(*) from pg_locks where locktype = 'advisory' and pid = pg_backend_pid()"],
    ['create temp table t_keep (x int)', "select count(*) from pg_class where relname = 't_keep'"],
    ['select 1 as x into temp t_into', "select count(*) from pg_class where relname = 't_into'"],
    ['explain analyze create temp table t_explain as select 1', "select count(*) from pg_class where relname = 't_explain'"],
    ['declare h cursor with hold for select 1', 'select count(*) from pg_cursors'],
    ['prepare p1 as select 1', 'select count(*) from pg_prepared_statements'],
    ['listen chan', 'select count(*) from pg_listening_channels()'],
    ["select set_config('app.z', (select 'v'), false)", "select current_setting('app.z', true) as v"],
  ])('%j', async (sql, probe) => {
    expect(decide(classify(sql), new Set(['EXCLUDE_VARIABLE_SETS'])).pin).toBeDefined();
    const c = await session();
    const before = JSON.stringify((await c.query(probe)).rows);
    await c.query('begin');
    await c.query(sql);
    await c.query('commit');
    expect(JSON.stringify((await c.query(probe)).rows)).not.toBe(before);
  });
});
