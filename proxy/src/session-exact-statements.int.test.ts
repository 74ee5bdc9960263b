/**
 * Prepared-statement exactness under transaction pooling, against a real PostgreSQL 15: the unnamed
 * statement across round trips and backends, recovery from a DDL that changes a statement's result
 * type, a failed named Parse, SQL DEALLOCATE of protocol-level statements. Every exchange that
 * PostgreSQL itself can show is run against PostgreSQL directly too: the proxy must answer the same.
 * (Cancels, borrow timeouts, disconnects: session-exact.int.test.ts.)
 */
import pg from 'pg';
import postgres from 'postgres';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startPostgres, type PgInstance } from './testing/postgres.js';
import { errorOf, RawClient, serialize as s } from './testing/raw-client.js';
import { startProxy, type TestProxy } from './testing/start-proxy.js';

let db: PgInstance;
let pool1: TestProxy;
let pool2: TestProxy;
const open: { end(): unknown }[] = [];

beforeAll(async () => {
  db = await startPostgres({ authMethod: 'trust', settings: { max_connections: '40' } });
  const proxyWith = (maxConnections: number) =>
    startProxy({ targets: [{ host: db.host, port: db.port }], auth: { method: 'trust' }, pool: { maxConnections } });
  pool1 = await proxyWith(1);
  pool2 = await proxyWith(2);
}, 120_000);
afterAll(async () => {
  await pool1?.stop();
  await pool2?.stop();
  await db?.stop();
});
afterEach(async () => {
  for (const c of open.splice(0)) await Promise.resolve(c.end()).catch(() => undefined);
});

async function raw(port: number): Promise<RawClient> {
  const c = await RawClient.connect(port);
  open.push(c);
  return c;
}

async function pgClient(port: number): Promise<pg.Client> {
  const c = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', database: 'postgres' });
  c.on('error', () => undefined);
  await c.connect();
  open.push(c);
  return c;
}

/** Parse/Bind/Execute/Sync of `statement` ('' = unnamed) with text parameters. */
const run = (statement: string, values: string[] = []) => [s.bind({ statement, values }), s.execute({}), s.sync()];
/** The ErrorResponse messages among the replies to `messages`. */
async function errors(c: RawClient, ...messages: Buffer[]): Promise<{ code: string; message: string }[]> {
  c.send(...messages);
  return (await c.untilReady()).filter((m) => m.type === 'E').map(errorOf);
}

/** The server pid of the backend whose last statement was `sql` (a Parse counts). */
async function pidOf(sql: string): Promise<number> {
  const r = await db.query('select pid from pg_stat_activity where query = $1', [sql]);
  expect(r.rows).toHaveLength(1);
  return r.rows[0].pid as number;
}

/** Holds the pool-of-2 backend with server pid `pid` in a transaction, so that the next borrower gets the other. */
async function holdBackend(pid: number): Promise<pg.Client> {
  const [a, b] = [await pgClient(pool2.port), await pgClient(pool2.port)];
  await a.query('begin');
  await b.query('begin');
  const pids = [(await a.query('select pg_backend_pid() as p')).rows[0].p, (await b.query('select pg_backend_pid() as p')).rows[0].p];
  expect(pids).toContain(pid);
  const [keep, free] = pids[0] === pid ? [a, b] : [b, a];
  await free.query('commit');
  return keep;
}

/** Leaves a zero-parameter unnamed statement ('select 3') of other clients on both backends of pool2. */
async function strangersOnBothBackends(): Promise<void> {
  const ys = [await raw(pool2.port), await raw(pool2.port)];
  // BEGIN and COMMIT as named statements: a simple Query would drop the unnamed statement.
  for (const [i, y] of ys.entries())
    expect(await y.roundTrip(s.parse({ name: `b${i}`, text: 'begin' }), ...run(`b${i}`))).toEqual(['1', '2', 'C:BEGIN', 'Z:T']);
  for (const y of ys) expect(await y.roundTrip(s.parse({ text: 'select 3 as three' }), s.sync())).toEqual(['1', 'Z:T']);
  for (const [i, y] of ys.entries())
    expect(await y.roundTrip(s.parse({ name: `c${i}`, text: 'commit' }), ...run(`c${i}`))).toEqual(['1', '2', 'C:COMMIT', 'Z:I']);
}

describe('the unnamed statement across round trips (pool of 2)', () => {
  it('Parse + Describe in one round trip, Bind + Execute in the next on the other backend', async () => {
    const x = await raw(pool2.port);
    const sql = 'select $1::int * 2 as doubled, $2::text as label -- x across backends';
    expect(await x.roundTrip(s.parse({ text: sql }), s.describe({ type: 'S' }), s.sync())).toEqual(['1', 't', 'T', 'Z:I']);
    const holder = await holdBackend(await pidOf(sql));
    expect(await x.roundTrip(...run('', ['21', 'ok']))).toEqual(['2', 'D:42,ok', 'C:SELECT 1', 'Z:I']);
    await holder.query('commit');
  });

  it("never binds another client's unnamed statement (a different parameter count) on the other backend", async () => {
    const x = await raw(pool2.port);
    const sql = 'select $1::int * 2 as doubled -- x beside y';
    expect(await x.roundTrip(s.parse({ text: sql }), s.describe({ type: 'S' }), s.sync())).toEqual(['1', 't', 'T', 'Z:I']);
    const xPid = await pidOf(sql);
    const holder = await holdBackend(xPid);
    const y = await raw(pool2.port);
    const ySql = 'select $1::int + $2::int as sum -- y beside x';
    expect(await y.roundTrip(s.parse({ text: ySql }), s.describe({ type: 'S' }), s.sync())).toEqual(['1', 't', 'T', 'Z:I']);
    expect(await pidOf(ySql)).not.toBe(xPid);
    // The only free backend holds y's two-parameter unnamed statement.
    expect(await errors(x, ...run('', ['5']))).toEqual([]);
    expect(await x.roundTrip(...run('', ['6']))).toEqual(['2', 'D:12', 'C:SELECT 1', 'Z:I']);
    expect(await y.roundTrip(...run('', ['1', '2']))).toEqual(['2', 'D:3', 'C:SELECT 1', 'Z:I']);
    await holder.query('commit');
  });

  it.each([
    ['PostgreSQL directly', () => db.port],
    ['the proxy', () => pool2.port],
  ])('%s: a simple Query drops the unnamed statement, so Bind "" then fails with 26000', async (where, port) => {
    const x = await raw(port());
    expect(await x.roundTrip(s.parse({ text: 'select 1 as one' }), s.sync())).toEqual(['1', 'Z:I']);
    expect(await x.roundTrip(s.query('select 2 as two'))).toEqual(['T', 'D:2', 'C:SELECT 1', 'Z:I']);
    if (where === 'the proxy') await strangersOnBothBackends();
    expect(await errors(x, ...run(''))).toEqual([{ code: '26000', message: 'unnamed prepared statement does not exist' }]);
  });
});

const TARGETS = [
  ['PostgreSQL directly', 'direct', () => db.port],
  ['the proxy (pool of 1)', 'proxy', () => pool1.port],
] as const;

describe.each(TARGETS)('%s', (_, tag, port) => {
  it('a DDL that changes the result type: 0A000, then Close + Parse of the same name recovers', async () => {
    const table = `plan_${tag}`;
    await db.query(`create table ${table} (id int); insert into ${table} values (1)`);
    const x = await raw(port());
    const other = await pgClient(port());
    const parse = s.parse({ name: 's1', text: `select * from ${table}` });
    expect(await x.roundTrip(parse, ...run('s1'))).toEqual(['1', '2', 'D:1', 'C:SELECT 1', 'Z:I']);
    await other.query(`alter table ${table} add column c2 int`);
    expect(await errors(x, ...run('s1'))).toEqual([{ code: '0A000', message: 'cached plan must not change result type' }]);
    expect(await x.roundTrip(s.close({ type: 'S', name: 's1' }), s.sync())).toEqual(['3', 'Z:I']);
    expect(await x.roundTrip(parse, ...run('s1'))).toEqual(['1', '2', 'D:1,NULL', 'C:SELECT 1', 'Z:I']);
  });

  it('postgres.js prepared statements recover from that DDL by themselves', async () => {
    const table = `plan_js_${tag}`;
    await db.query(`create table ${table} (id int); insert into ${table} values (1)`);
    const sql = postgres({ host: '127.0.0.1', port: port(), user: 'postgres', database: 'postgres', max: 1, prepare: true, onnotice: () => undefined });
    try {
      expect([...(await sql`select * from ${sql(table)}`)]).toEqual([{ id: 1 }]);
      await db.query(`alter table ${table} add column c2 int`);
      expect([...(await sql`select * from ${sql(table)}`)]).toEqual([{ id: 1, c2: null }]);
    } finally {
      await sql.end();
    }
  });

  it('a named Parse that failed with a syntax error can be retried under the same name', async () => {
    const x = await raw(port());
    expect(await x.roundTrip(s.parse({ name: 's6', text: 'selec 6' }), s.sync())).toEqual(['E:42601', 'Z:I']);
    expect.soft(await errors(x, ...run('s6'))).toEqual([{ code: '26000', message: 'prepared statement "s6" does not exist' }]);
    expect(await x.roundTrip(s.parse({ name: 's6', text: 'select 6 as six' }), ...run('s6'))).toEqual(['1', '2', 'D:6', 'C:SELECT 1', 'Z:I']);
  });

  it('a named Parse that failed fails again when repeated, and succeeds once its table exists', async () => {
    const table = `later_${tag}`;
    const x = await raw(port());
    const parse = s.parse({ name: 's7', text: `select * from ${table}` });
    expect(await x.roundTrip(parse, s.sync())).toEqual(['E:42P01', 'Z:I']);
    expect.soft(await x.roundTrip(parse, s.sync())).toEqual(['E:42P01', 'Z:I']);
    await db.query(`create table ${table} (id int); insert into ${table} values (7)`);
    expect(await x.roundTrip(parse, ...run('s7'))).toEqual(['1', '2', 'D:7', 'C:SELECT 1', 'Z:I']);
  });

  it('SQL DEALLOCATE of a protocol-level statement: tag DEALLOCATE, then Bind fails with 26000', async () => {
    const x = await raw(port());
    expect(await x.roundTrip(s.parse({ name: 's8', text: 'select 8 as n' }), s.sync())).toEqual(['1', 'Z:I']);
    expect(await x.roundTrip(s.query('DEALLOCATE s8'))).toEqual(['C:DEALLOCATE', 'Z:I']);
    expect(await errors(x, ...run('s8'))).toEqual([{ code: '26000', message: 'prepared statement "s8" does not exist' }]);
    expect(await x.roundTrip(s.parse({ name: 's8', text: 'select 88 as n' }), ...run('s8'))).toEqual(['1', '2', 'D:88', 'C:SELECT 1', 'Z:I']);
  });

  it('DEALLOCATE ALL: then Bind of each statement fails with 26000', async () => {
    const x = await raw(port());
    expect(await x.roundTrip(s.parse({ name: 's9a', text: 'select 9 as n' }), s.parse({ name: 's9b', text: 'select $1::int as n' }), s.sync())).toEqual([
      '1',
      '1',
      'Z:I',
    ]);
    expect(await x.roundTrip(s.query('DEALLOCATE ALL'))).toEqual(['C:DEALLOCATE ALL', 'Z:I']);
    expect(await errors(x, ...run('s9a'))).toEqual([{ code: '26000', message: 'prepared statement "s9a" does not exist' }]);
    expect(await errors(x, ...run('s9b', ['1']))).toEqual([{ code: '26000', message: 'prepared statement "s9b" does not exist' }]);
    expect(await x.roundTrip(s.parse({ name: 's9a', text: 'select 99 as n' }), ...run('s9a'))).toEqual(['1', '2', 'D:99', 'C:SELECT 1', 'Z:I']);
  });
});
