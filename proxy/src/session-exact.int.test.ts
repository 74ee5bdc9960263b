/**
 * Exactness with a busy bystander on a small pool, against a real PostgreSQL 15: what one client
 * does — cancel requests, a borrow timeout, leaving in the middle of a batch — must look to it as it
 * does on PostgreSQL directly, and must never leak onto the next client of the same backend.
 * (Prepared-statement exactness: session-exact-statements.int.test.ts.)
 */
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startPostgres, type PgInstance } from './testing/postgres.js';
import { errorOf, RawClient, sendCancel, serialize, summary } from './testing/raw-client.js';
import { startProxy, type TestProxy } from './testing/start-proxy.js';
import { waitFor } from './testing/wait.js';

let db: PgInstance;
const open: { end(): unknown }[] = [];

beforeAll(async () => {
  db = await startPostgres({ authMethod: 'trust', settings: { max_connections: '40' } });
  await db.query('create table ledger (id int primary key, note text)');
}, 120_000);
afterAll(() => db?.stop());
afterEach(async () => {
  for (const c of open.splice(0)) await Promise.resolve(c.end()).catch(() => undefined);
});

const proxyWith = (pool: Record<string, unknown>) => startProxy({ targets: [{ host: db.host, port: db.port }], auth: { method: 'trust' }, pool });

async function pgClient(port: number): Promise<pg.Client & { processID: number; secretKey: number }> {
  const c = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', database: 'postgres' });
  c.on('error', () => undefined);
  await c.connect();
  open.push(c);
  return c as pg.Client & { processID: number; secretKey: number };
}

async function raw(port: number): Promise<RawClient> {
  const c = await RawClient.connect(port);
  open.push(c);
  return c;
}

const sqlstate = (err: unknown): string => (err as { code?: string }).code ?? String(err);
const rows = async (sql: string, params?: unknown[]): Promise<number> => (await db.query(sql, params)).rows[0].n as number;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('cancel requests reach only the client they belong to (pool of 1)', () => {
  let proxy: TestProxy;
  beforeAll(async () => {
    proxy = await proxyWith({ maxConnections: 1 });
  });
  afterAll(() => proxy.stop());

  /** Sends CancelRequests with `key` from `loops` loops until `stop()`; resolves with how many were sent. */
  function cancelStorm(key: { processID: number; secretKey: number }, loops: number, pauseMs: number) {
    let running = true;
    let sent = 0;
    const done = Promise.all(
      Array.from({ length: loops }, async () => {
        while (running) {
          await sendCancel(proxy.port, key.processID, key.secretKey);
          sent++;
          await sleep(pauseMs);
        }
      }),
    );
    return async () => {
      running = false;
      await done;
      return sent;
    };
  }

  /** B runs `select pg_sleep(0.3)` `times` times; the SQLSTATEs of the runs that failed. */
  async function bystander(b: pg.Client, times: number): Promise<string[]> {
    const failures: string[] = [];
    for (let i = 0; i < times; i++) await b.query('select pg_sleep(0.3)').catch((err) => failures.push(sqlstate(err)));
    return failures;
  }

  it("positive control: a cancel while the client's own pg_sleep(5) runs cancels it with 57014", async () => {
    const a = await pgClient(proxy.port);
    const run = a.query('select pg_sleep(5)').then(() => 'finished', sqlstate);
    await waitFor(
      async () => (await rows(`select count(*)::int as n from pg_stat_activity where query = 'select pg_sleep(5)' and state = 'active'`)) === 1,
      "A's sleep to start",
    );
    await sendCancel(proxy.port, a.processID, a.secretKey);
    expect(await run).toBe('57014');
    expect((await a.query('select 1 as n')).rows).toEqual([{ n: 1 }]);
  });

  it('repeated cancels with the key of a client whose query has finished never cancel a bystander on its backend', async () => {
    const a = await pgClient(proxy.port);
    const aPid = (await a.query('select pg_backend_pid() as p')).rows[0].p as number;
    const b = await pgClient(proxy.port);
    expect((await b.query('select pg_backend_pid() as p')).rows[0].p).toBe(aPid);
    const stop = cancelStorm(a, 2, 5);
    const failures = await bystander(b, 6);
    const sent = await stop();
    expect(failures).toEqual([]);
    expect(sent).toBeGreaterThan(20);
    // The harness does see a cancel that reaches B: the same storm with B's own key.
    const own = cancelStorm(b, 1, 5);
    const ownFailures = await bystander(b, 2);
    await own();
    expect(ownFailures).toContain('57014');
  });

  it("a cancel that arrives as the client's short query ends never reaches the bystander that gets the backend next", async () => {
    const a = await pgClient(proxy.port);
    const b = await pgClient(proxy.port);
    let running = true;
    // A alternates with B on the one backend; its own queries may be cancelled, that is allowed.
    const shortQueries = (async () => {
      while (running) await a.query('select 1').catch(() => undefined);
    })();
    const stop = cancelStorm(a, 4, 1);
    const failures = await bystander(b, 10);
    running = false;
    await shortQueries;
    await stop();
    expect(failures).toEqual([]);
  });
});

describe('a borrow timeout is an ErrorResponse before ReadyForQuery (pool of 1, borrowTimeout 1s)', () => {
  let proxy: TestProxy;
  beforeAll(async () => {
    proxy = await proxyWith({ maxConnections: 1, borrowTimeout: '1s' });
  });
  afterAll(() => proxy.stop());

  const extended = () => [serialize.parse({ text: 'select $1::int + 1 as n' }), serialize.bind({ values: ['41'] }), serialize.execute({}), serialize.sync()];

  it.each([
    ['Parse/Bind/Execute/Sync', extended, ['1', '2', 'D:42', 'C:SELECT 1', 'Z:I']],
    ['a simple Query', () => [serialize.query('select 41 + 1 as n')], ['T', 'D:42', 'C:SELECT 1', 'Z:I']],
  ])('%s: 53300 then Z I while the backend is held, and a normal answer once it is free', async (_, request, answer) => {
    const holder = await pgClient(proxy.port);
    await holder.query('begin');
    await holder.query('select 1');
    const c = await raw(proxy.port);
    c.send(...request());
    const replies = await c.untilReady();
    expect(summary(replies)).toEqual(['E:53300', 'Z:I']);
    expect(errorOf(replies[0]!).message).toMatch(/timed out/);
    await holder.query('commit');
    expect(await c.roundTrip(...request())).toEqual(answer);
  });
});

describe('a client that leaves in the middle of a unit of work (pool of 1)', () => {
  let proxy: TestProxy;
  beforeAll(async () => {
    proxy = await proxyWith({ maxConnections: 1 });
  });
  afterAll(() => proxy.stop());

  let nextId = 1;
  const committed = (id: number) => rows(`select count(*)::int as n from ledger where id = ${id}`);

  /**
   * Parse/Bind/Execute of an INSERT, no Sync. With `flush`, a Flush too, and its three replies are
   * read; without, waits until the server runs it — strictly on PostgreSQL directly; through the
   * proxy for at most 2 s, since a proxy may hold the batch back until Sync or Flush.
   */
  async function insertWithoutSync(c: RawClient, id: number, flush: boolean, direct: boolean): Promise<void> {
    const sql = `insert into ledger values (${id}, 'left mid-batch')`;
    c.send(serialize.parse({ text: sql }), serialize.bind({}), serialize.execute({}), ...(flush ? [serialize.flush()] : []));
    if (flush) {
      expect(summary([await c.next(), await c.next(), await c.next()])).toEqual(['1', '2', 'C:INSERT 0 1']);
      return;
    }
    const seen = waitFor(
      async () => (await rows('select count(*)::int as n from pg_stat_activity where query = $1', [sql])) === 1,
      'the INSERT to reach the server',
    );
    await (direct ? seen : seen.catch(() => undefined));
  }

  it.each([
    ['closes its socket', false, (c: RawClient) => c.end()],
    ['sends Terminate', false, (c: RawClient) => c.send(serialize.end())],
    ['reads the replies to a Flush, then closes its socket', true, (c: RawClient) => c.end()],
    ['reads the replies to a Flush, then sends Terminate', true, (c: RawClient) => c.send(serialize.end())],
  ])('Parse/Bind/Execute of an INSERT without Sync, then the client %s: rolled back; the next client gets only its own replies', async (_, flush, leave) => {
    // PostgreSQL directly: the implicit transaction dies with the connection.
    const direct = await raw(db.port);
    const first = nextId++;
    await insertWithoutSync(direct, first, flush, true);
    leave(direct);
    await direct.closed;
    await waitFor(
      async () => (await rows(`select count(*)::int as n from pg_stat_activity where query like 'insert into ledger values (${first},%'`)) === 0,
      'the direct backend to exit',
    );
    expect(await committed(first)).toBe(0);

    const id = nextId++;
    const c = await raw(proxy.port);
    await insertWithoutSync(c, id, flush, false);
    leave(c);
    await c.closed;
    const next = await raw(proxy.port);
    expect(await next.roundTrip(serialize.query(`select count(*)::int as n from ledger where id = ${id}`))).toEqual(['T', 'D:0', 'C:SELECT 1', 'Z:I']);
    expect(await next.roundTrip(serialize.parse({ text: 'select 2 as n' }), serialize.bind({}), serialize.execute({}), serialize.sync())).toEqual([
      '1',
      '2',
      'D:2',
      'C:SELECT 1',
      'Z:I',
    ]);
    expect(await committed(id)).toBe(0);
  });

  it('a Query INSERT and Terminate in one write while waiting for a backend: the INSERT is committed, as on PostgreSQL', async () => {
    const first = nextId++;
    const direct = await raw(db.port);
    direct.send(serialize.query(`insert into ledger values (${first}, 'then terminate')`), serialize.end());
    await direct.closed;
    expect(await committed(first)).toBe(1);

    const id = nextId++;
    const holder = await pgClient(proxy.port);
    await holder.query('begin');
    await holder.query('select 1');
    const c = await raw(proxy.port);
    c.send(serialize.query(`insert into ledger values (${id}, 'then terminate')`), serialize.end());
    await waitFor(async () => JSON.parse((await proxy.admin('/status')).text).pools[0].waiting === 1, 'the client to wait for a backend');
    await holder.query('commit');
    await waitFor(async () => (await committed(id)) === 1, 'the INSERT to be committed', { timeoutMs: 5_000 });
  });
});

describe('a client that leaves while the server skips to Sync after its error (found by the native-core fuzz)', () => {
  let proxy: TestProxy;
  beforeAll(async () => {
    proxy = await proxyWith({ maxConnections: 1, maxIdleConnections: 1 });
  });
  afterAll(() => proxy.stop());

  const failing: [string, Buffer][] = [
    ['Bind of a statement it never prepared', serialize.bind({ statement: 'never_prepared' })],
    ['Execute of a portal that does not exist', serialize.execute({ portal: 'no_portal' })],
    ['Describe of a statement it never prepared', serialize.describe({ type: 'S', name: 'never_prepared' })],
  ];
  it.each(failing.flatMap(([what, m]) => [0, 150].flatMap((wait) => [true, false].map((q) => ({ what, m, wait, q })))))(
    '$what, then a Query: $q, leaving after $wait ms; the next client gets only its own replies',
    async ({ m: failingMessage, wait, q: thenQuery }) => {
      const c = await raw(proxy.port);
      c.send(failingMessage, ...(thenQuery ? [serialize.query('select 1')] : []));
      if (wait) await sleep(wait);
      c.end();
      await c.closed;
      const next = await raw(proxy.port);
      expect(await next.roundTrip(serialize.query('select 7 as n'))).toEqual(['T', 'D:7', 'C:SELECT 1', 'Z:I']);
      expect(
        await next.roundTrip(serialize.parse({ text: 'select $1::int as n' }), serialize.bind({ values: ['8'] }), serialize.execute({}), serialize.sync()),
      ).toEqual(['1', '2', 'D:8', 'C:SELECT 1', 'Z:I']);
      next.end();
    },
  );
});
