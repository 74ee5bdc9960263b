/**
 * The native core's reply pass-through against a real PostgreSQL 15 and a proxy process: simple
 * Queries are passed (the core forwards their replies itself, /status counts it), and what the
 * client gets is what PostgreSQL sends directly — results over many reads, an error after rows, a
 * notice, a SET that is tracked, the client leaving in the middle of a large result (the backend
 * serves the next client). Needs `npm run build` (the proxy runs from dist/).
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostgres, type PgInstance } from '../testing/postgres.js';
import { startProxyProcess, type ProxyProcess } from '../testing/proxy-process.js';
import { RawClient, serialize } from '../testing/raw-client.js';
import { nativeUnavailable } from './native-conn.js';

let db: PgInstance;
let proxy: ProxyProcess;
const unavailable = nativeUnavailable();
if (unavailable) console.warn(`pass: skipped: ${unavailable}`);

type Passes = { armed: number; completed: number };
const passes = async (): Promise<Passes> => ((await proxy.status()) as unknown as { io: { replyPasses: Passes } }).io.replyPasses;

beforeAll(async () => {
  if (unavailable) return;
  db = await startPostgres({ authMethod: 'trust' });
  proxy = await startProxyProcess({
    targets: [`127.0.0.1:${db.port}`],
    auth: { method: 'trust' },
    io: 'native',
    pool: { maxConnections: 1 },
    logLevel: 'warn',
  });
}, 120_000);
afterAll(async () => {
  await proxy?.stop();
  await db?.stop();
});

/** Every message answering `sql` as a simple Query, notices too, up to ReadyForQuery: type and body in hex. */
async function replies(port: number, sql: string): Promise<string[]> {
  const c = await RawClient.connect(port);
  try {
    c.send(serialize.query(sql));
    const out: string[] = [];
    for (;;) {
      const m = await c.next();
      out.push(`${m.type} ${m.body.toString('hex')}`);
      if (m.type === 'Z') return out;
    }
  } finally {
    c.end();
  }
}

const CASES: [string, string][] = [
  ['a result over many reads', "select g, repeat('x', 300) from generate_series(1, 20000) g"],
  ['an error after rows', 'select 1 / (1000 - g) from generate_series(1, 2000) g'],
  ['a notice among rows', "do $$ begin raise notice 'hello'; end $$; select 1"],
  ['an empty query', ''],
  ['several statements', 'select 1; select 2; select 3'],
  ['a SET then a SHOW (tracked)', 'set work_mem = 1234; show work_mem'],
];

describe.skipIf(unavailable !== undefined)('reply pass-through (io: native)', () => {
  it.each(CASES)('%s: the client gets the bytes PostgreSQL sends', async (_name, sql) => {
    const before = await passes();
    const direct = await replies(db.port, sql);
    const through = await replies(proxy.port, sql);
    expect(through).toEqual(direct);
    const after = await passes();
    expect(after.armed).toBeGreaterThan(before.armed);
  });

  it('a client that leaves in the middle of a large passed result does not hold the backend', async () => {
    const c = await RawClient.connect(proxy.port);
    c.send(serialize.query("select repeat('y', 1000) from generate_series(1, 200000)"));
    await new Promise((r) => c.socket.once('data', r));
    c.socket.destroy();
    // One backend in the pool: the next client is served only once it is drained and back.
    const next = new pg.Client({ host: '127.0.0.1', port: proxy.port, user: 'postgres', database: 'postgres' });
    await next.connect();
    const r = await next.query('select 42 as n');
    expect(r.rows[0].n).toBe(42);
    await next.end();
  });
});
