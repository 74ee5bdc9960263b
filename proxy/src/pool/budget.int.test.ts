/**
 * The per-pod connection budget against a real PostgreSQL 15, as the server counts it
 * (pg_stat_activity): 20 databases × 5 users at once under a small cap with per-database and
 * per-user limits, pgbench on several databases through it; an idle pool's connection reclaimed
 * for another pool's borrower; the per-database and per-user limits holding borrowers back.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostgres, type PgInstance } from '../testing/postgres.js';
import { startProxy, type TestProxy } from '../testing/start-proxy.js';
import { waitFor } from '../testing/wait.js';

const run = promisify(execFile);
const DATABASES = Array.from({ length: 20 }, (_, i) => `db${String(i).padStart(2, '0')}`);
const USERS = Array.from({ length: 5 }, (_, i) => `u${i}`);
/** The databases pgbench runs on, each as its own user. */
const BENCHED = [
  { database: 'db00', user: 'u0' },
  { database: 'db01', user: 'u1' },
  { database: 'db02', user: 'u2' },
];

let db: PgInstance;

beforeAll(async () => {
  db = await startPostgres({ authMethod: 'trust', settings: { max_connections: '150' } });
  for (const u of USERS) await db.query(`create role ${u} login`);
  for (const d of DATABASES) await db.query(`create database ${d}`);
  for (const { database } of BENCHED) {
    await run('pgbench', ['-h', db.host, '-p', String(db.port), '-U', db.superuser, '-i', '-s', '1', '-q', database]);
    await inDatabase(database, `grant all on all tables in schema public to ${USERS.join(', ')}`);
  }
}, 180_000);

afterAll(async () => {
  await db?.stop();
});

async function inDatabase(database: string, sql: string): Promise<void> {
  const c = new pg.Client({ connectionString: db.connectionString(db.superuser, db.superuserPassword, database) });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

function proxyWith(pool: Record<string, unknown>): Promise<TestProxy> {
  return startProxy({ targets: [{ host: db.host, port: db.port }], auth: { method: 'trust' }, pool });
}

async function client(proxy: TestProxy, database: string, user: string): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: proxy.url(user, undefined, database) });
  c.on('error', () => undefined);
  await c.connect();
  return c;
}

interface Counts {
  total: number;
  byDatabase: Map<string, number>;
  byUser: Map<string, number>;
  pids: Set<number>;
}

/** The test users' backends on the server now. */
async function serverCounts(q: (sql: string, params: unknown[]) => Promise<pg.QueryResult>): Promise<Counts> {
  const r = await q(`select pid, datname, usename from pg_stat_activity where backend_type = 'client backend' and usename = any($1)`, [USERS]);
  const out: Counts = { total: 0, byDatabase: new Map(), byUser: new Map(), pids: new Set() };
  for (const row of r.rows as { pid: number; datname: string; usename: string }[]) {
    out.total++;
    out.byDatabase.set(row.datname, (out.byDatabase.get(row.datname) ?? 0) + 1);
    out.byUser.set(row.usename, (out.byUser.get(row.usename) ?? 0) + 1);
    out.pids.add(row.pid);
  }
  return out;
}

/** Samples pg_stat_activity over one connection, back to back, until stopped; keeps the peaks. */
async function startSampler(): Promise<{ stop: () => Promise<{ samples: number; total: number; database: number; user: number }> }> {
  const c = new pg.Client({ connectionString: db.connectionString() });
  await c.connect();
  const peak = { samples: 0, total: 0, database: 0, user: 0 };
  let running = true;
  let stopped: Promise<typeof peak> | undefined;
  const loop = (async () => {
    while (running) {
      const n = await serverCounts((sql, params) => c.query(sql, params));
      peak.samples++;
      peak.total = Math.max(peak.total, n.total);
      peak.database = Math.max(peak.database, ...n.byDatabase.values(), 0);
      peak.user = Math.max(peak.user, ...n.byUser.values(), 0);
      await new Promise((r) => setTimeout(r, 2));
    }
  })();
  return {
    stop: () =>
      (stopped ??= (async () => {
        running = false;
        await loop;
        await c.end();
        return peak;
      })()),
  };
}

async function budgetStatus(proxy: TestProxy): Promise<{ maxConnections: number; inUse: number; waiting: number; poolsWaiting: number }> {
  const s = JSON.parse((await proxy.admin('/status')).text) as {
    connectionBudget: { writer: { maxConnections: number; inUse: number; waiting: number; poolsWaiting: number } };
  };
  return s.connectionBudget.writer;
}

describe('the per-pod connection budget', () => {
  it('20 databases × 5 users at once, with pgbench on three of them: the server never sees more than the cap, per database and per user limits included', async () => {
    const CAP = 12;
    const PER_DB = 3;
    const PER_USER = 4;
    const proxy = await proxyWith({ maxConnections: CAP, maxDbConnections: PER_DB, maxUserConnections: PER_USER, maxIdleConnections: 1, borrowTimeout: '60s' });
    const sampler = await startSampler();
    try {
      const pairs = DATABASES.flatMap((database) => USERS.map((user) => ({ database, user })));
      const clients = await Promise.all(pairs.map((p) => client(proxy, p.database, p.user)));
      // Every pair at once: a few short transactions each, each checking it ran as its own pair.
      const work = clients.map(async (c, i) => {
        for (let t = 0; t < 4; t++) {
          await c.query('begin');
          const r = await c.query(`select current_database() as d, current_user as u, pg_sleep(0.002)`);
          await c.query('commit');
          expect(r.rows[0]).toMatchObject({ d: pairs[i]!.database, u: pairs[i]!.user });
        }
      });
      const benches = BENCHED.map(({ database, user }) =>
        run('pgbench', ['-h', proxy.host, '-p', String(proxy.port), '-U', user, '-n', '-c', '3', '-j', '1', '-t', '30', database], { maxBuffer: 1 << 24 }),
      );
      await Promise.all(work);
      const outputs = await Promise.all(benches);
      await Promise.all(clients.map((c) => c.end()));
      const peak = await sampler.stop();

      for (const { stdout } of outputs) {
        expect(stdout).toMatch(/number of transactions actually processed: 90\/90/);
        expect(stdout).toMatch(/number of failed transactions: 0 /);
      }
      console.log(
        `pg_stat_activity over ${peak.samples} samples: at most ${peak.total} backends (cap ${CAP}), ${peak.database} in one database (limit ${PER_DB}), ${peak.user} of one user (limit ${PER_USER})`,
      );
      expect(peak.total).toBeLessThanOrEqual(CAP);
      expect(peak.database).toBeLessThanOrEqual(PER_DB);
      expect(peak.user).toBeLessThanOrEqual(PER_USER);
      // Several users' pools held the budget at the same time (one user alone can hold only PER_USER).
      expect(peak.total).toBeGreaterThan(PER_USER);
      const status = await budgetStatus(proxy);
      expect(status).toMatchObject({ maxConnections: CAP, waiting: 0, poolsWaiting: 0 });
      expect(status.inUse).toBeLessThanOrEqual(CAP);
      const metrics = (await proxy.admin('/metrics')).text;
      expect(metrics).toMatch(new RegExp(`^dbproxy_connection_budget_max_connections\\{endpoint="writer"\\} ${CAP}$`, 'm'));
      expect(metrics).toMatch(/^dbproxy_connection_budget_used_connections\{endpoint="writer"\} \d+$/m);
    } finally {
      await sampler.stop();
      await proxy.stop();
    }
  });

  it("closes an idle pool's connection for a borrower of another pool when the budget is full", async () => {
    // Without reclaim, the third pool's borrower would wait out the borrow timeout (53300):
    // the idle connection stays below maxIdleConnections, so it is never trimmed.
    const proxy = await proxyWith({ maxConnections: 2, maxIdleConnections: 2, borrowTimeout: '20s' });
    const [a, b, c] = [await client(proxy, 'db05', 'u0'), await client(proxy, 'db06', 'u1'), await client(proxy, 'db07', 'u2')];
    try {
      const idlePid = (await a.query('select pg_backend_pid() as pid')).rows[0].pid as number;
      await b.query('begin');
      const busyPid = (await b.query('select pg_backend_pid() as pid')).rows[0].pid as number;
      expect((await serverCounts((s, p) => db.query(s, p))).pids).toEqual(new Set([idlePid, busyPid]));

      const r = await c.query('select current_database() as d, pg_backend_pid() as pid');
      expect(r.rows[0].d).toBe('db07');
      const now = await serverCounts((s, p) => db.query(s, p));
      expect(now.pids).toEqual(new Set([busyPid, r.rows[0].pid as number]));
      expect(await budgetStatus(proxy)).toMatchObject({ maxConnections: 2, inUse: 2, waiting: 0 });
      await b.query('commit');
    } finally {
      await Promise.all([a.end(), b.end(), c.end()]);
      await proxy.stop();
    }
  });

  it('holds a database at maxDbConnections and a user at maxUserConnections; the next borrower goes when one comes back', async () => {
    const proxy = await proxyWith({ maxConnections: 10, maxDbConnections: 2, maxUserConnections: 3, borrowTimeout: '30s' });
    const open: pg.Client[] = [];
    try {
      /** Starts a transaction on each (database, user): all but the last `waiters` get a backend. */
      const holdAll = async (pairs: [string, string][], waiters: number, limited: (c: Counts) => number) => {
        const cs = await Promise.all(pairs.map(([d, u]) => client(proxy, d, u)));
        open.push(...cs);
        const settled = cs.map(() => false);
        const begun = cs.map((c, i) => c.query('begin; select 1').then(() => (settled[i] = true)));
        await waitFor(
          async () => (await budgetStatus(proxy)).waiting === waiters && settled.filter(Boolean).length === cs.length - waiters,
          'the borrowers past the limit to wait',
        );
        expect(limited(await serverCounts((s, p) => db.query(s, p)))).toBe(cs.length - waiters);
        const first = settled.indexOf(true);
        await cs[first]!.query('commit');
        await Promise.all(begun); // the waiter got the connection that came back
        expect(limited(await serverCounts((s, p) => db.query(s, p)))).toBe(cs.length - waiters);
        for (const [i, c] of cs.entries()) if (i !== first) await c.query('commit');
      };
      await holdAll(
        [
          ['db10', 'u0'],
          ['db10', 'u1'],
          ['db10', 'u2'],
        ],
        1,
        (c) => c.byDatabase.get('db10') ?? 0,
      );
      await holdAll(
        [
          ['db11', 'u4'],
          ['db12', 'u4'],
          ['db13', 'u4'],
          ['db14', 'u4'],
        ],
        1,
        (c) => c.byUser.get('u4') ?? 0,
      );
    } finally {
      await Promise.all(open.map((c) => c.end()));
      await proxy.stop();
    }
  });
});
