// The checked pg workload through the proxy: selects, transactions, big payloads, rollbacks, errors.
import { createHash } from 'node:crypto';
import pg from 'pg';
import type { Rng } from './random.js';
import { doing, failure, stats } from './report.js';

function check(ok: boolean, what: string): void {
  if (!ok) throw new Error(what);
}

/** A result as the check messages show it. */
const shown = (r: pg.QueryResult): string =>
  JSON.stringify({ command: r.command, rowCount: r.rowCount, rows: r.rows.length > 3 ? `${r.rows.length} rows` : r.rows });

export async function pgConnect(port: number, host = '127.0.0.1'): Promise<pg.Client> {
  const c = new pg.Client({ host, port, user: 'postgres', database: 'postgres', query_timeout: 10_000, connectionTimeoutMillis: 10_000 });
  c.on('error', () => undefined); // shows in the next query
  await c.connect();
  return c;
}

/** One workload client's own view: its id, the rows it knows it committed, its last sequence number. */
interface Client {
  me: number;
  rows: number;
  seq: number;
}

type Step = (c: pg.Client, rng: Rng, w: Client) => Promise<void>;

const STEPS = {
  select: async (c, rng) => {
    const n = rng.int(1_000_000);
    const r = await c.query('select $1::int * 2 as n', [n]);
    check(r.rows[0]?.n === n * 2, `select ${n} * 2 gave ${shown(r)}`);
  },
  'insert-tx': async (c, rng, w) => {
    await c.query('begin');
    await c.query('insert into fuzz_work values ($1, $2, $3)', [w.me, ++w.seq, rng.ascii(rng.int(200))]);
    const r = await c.query('select count(*)::int as n from fuzz_work where client = $1', [w.me]);
    check(r.rows[0]?.n === w.rows + 1, `count(*) inside the transaction gave ${shown(r)}, expected ${w.rows + 1}`);
    await c.query('commit');
    w.rows++;
  },
  big: async (c, rng, w) => {
    const text = rng.ascii(rng.between(64 * 1024, 400 * 1024));
    await c.query('insert into fuzz_work values ($1, $2, $3)', [w.me, ++w.seq, text]);
    w.rows++;
    const r = await c.query('select payload, md5(payload) as h from fuzz_work where client = $1 and seq = $2', [w.me, w.seq]);
    const row = r.rows[0] as { payload?: string; h?: string } | undefined;
    check(r.rows.length === 1, `reading back a ${text.length}-byte payload gave ${shown(r)}`);
    check(row?.h === createHash('md5').update(text).digest('hex'), `md5 of a ${text.length}-byte payload differs on the server`);
    check(row?.payload === text, `a ${text.length}-byte payload came back different`);
  },
  multi: async (c) => {
    const r = (await c.query('select 1 as a; select 2 as b')) as unknown as pg.QueryResult[];
    check(r[0]?.rows[0]?.a === 1 && r[1]?.rows[0]?.b === 2, `multi-statement query gave ${JSON.stringify(r.map((x) => x.rows))}`);
  },
  rollback: async (c, rng, w) => {
    await c.query('begin');
    await c.query('insert into fuzz_work values ($1, $2, $3)', [w.me, 1_000_000_000 + rng.int(1_000_000), 'rolled back']);
    await c.query('rollback');
    const r = await c.query('select count(*)::int as n from fuzz_work where client = $1', [w.me]);
    check(r.rows[0]?.n === w.rows, `count(*) after a rollback gave ${shown(r)}, expected ${w.rows}`);
  },
  error: async (c) => {
    const err = await c.query('select 1/0').then(
      () => undefined,
      (e: { code?: string }) => e,
    );
    check(err?.code === '22012', `select 1/0 gave ${JSON.stringify(err)}`);
    const r = await c.query('select 42 as n');
    check(r.rows[0]?.n === 42, `after an error, select 42 gave ${shown(r)}`);
  },
} satisfies Record<string, Step>;

const KINDS = ['select', 'insert-tx', 'big', 'multi', 'rollback', 'error'] as const;

/** After a failure: what the table says this client committed (the rollback step uses seq ≥ 1e9). */
async function recount(direct: pg.Client, w: Client): Promise<void> {
  const r = await direct.query('select count(*)::int as n, coalesce(max(seq), 0)::int as m from fuzz_work where client = $1 and seq < 1000000000', [w.me]);
  w.rows = r.rows[0].n;
  w.seq = r.rows[0].m;
}

/** One workload client: checked statements in a loop; returns its id and the rows it knows it committed. */
export async function workloadWorker(
  name: string,
  me: number,
  rng: Rng,
  port: number,
  deadline: number,
  direct: pg.Client,
): Promise<{ me: number; rows: number }> {
  let c: pg.Client | undefined;
  const w: Client = { me, rows: 0, seq: 0 };
  while (Date.now() < deadline) {
    const kind = rng.pick(KINDS);
    doing.set(name, kind);
    try {
      c ??= await pgConnect(port);
      await STEPS[kind](c, rng, w);
      stats.workload.transactions++;
    } catch (err) {
      stats.workload.failures++;
      failure('workload', `client ${me} ${kind}: ${(err as Error).message}`);
      void c?.end().catch(() => undefined);
      c = undefined;
      await recount(direct, w);
    }
    if (c && rng.chance(0.02)) {
      await c.end();
      c = undefined;
    }
  }
  await c?.end();
  doing.delete(name);
  return { me, rows: w.rows };
}
