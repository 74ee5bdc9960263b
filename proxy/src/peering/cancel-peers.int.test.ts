/**
 * Cancel on any proxy, against a real PostgreSQL 15: two proxies configured as peers; a
 * CancelRequest for a query on proxy A sent to proxy B reaches A's client's query, and nothing else.
 */
import net from 'node:net';
import pg from 'pg';
import { serialize } from 'pg-protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostgres, type PgInstance } from '../testing/postgres.js';
import { startProxy, type TestProxy } from '../testing/start-proxy.js';
import { waitFor } from '../testing/wait.js';
import { decodeProcessId, encodeProcessId, forwardedProcessId } from './cancel-key.js';

const APP = { name: 'app', password: 'app-secret' };
const A_ID = 1;
const B_ID = 2;

let db: PgInstance;
let a: TestProxy;
let b: TestProxy;

function config(id: number, peers: { id: number; host: string; port: number }[]): Record<string, unknown> {
  return {
    targets: [{ host: db.host, port: db.port }],
    auth: { method: 'scram', users: [{ username: APP.name, password: APP.password }] },
    pool: { maxConnections: 2 },
    peering: { id, peers },
  };
}

beforeAll(async () => {
  db = await startPostgres({ authMethod: 'scram-sha-256', users: [{ ...APP }] });
  a = await startProxy(config(A_ID, []));
  b = await startProxy(config(B_ID, [{ id: A_ID, host: a.host, port: a.port }]));
  // One shared list, as an operator would give every proxy: A finds itself in it by its id.
  const peers = [
    { id: A_ID, host: a.host, port: a.port },
    { id: B_ID, host: b.host, port: b.port },
  ];
  a.server.applyConfig((await startProxyConfig(config(A_ID, peers))) as never);
}, 120_000);

afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
  await db?.stop();
});

/** The config as the proxy parses it (applyConfig takes a parsed config). */
async function startProxyConfig(overrides: Record<string, unknown>): Promise<unknown> {
  const { parseConfig } = await import('../../../contract/config/load.js');
  return parseConfig({ listen: '127.0.0.1:0', admin: { listen: '127.0.0.1:0' }, logLevel: 'warn', ...overrides }, 'test');
}

type KeyedClient = pg.Client & { processID: number; secretKey: number };

async function connect(proxy: TestProxy): Promise<KeyedClient> {
  const c = new pg.Client({ connectionString: proxy.url(APP.name, APP.password) });
  await c.connect();
  return c as KeyedClient;
}

/** A raw CancelRequest to `proxy`; resolves when the proxy closed the connection (it answers nothing). */
function sendCancel(proxy: TestProxy, processId: number, secretKey: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = net.connect(proxy.port, proxy.host, () => s.write(serialize.cancel(processId, secretKey)));
    s.on('close', () => resolve());
    s.on('error', reject);
    s.setTimeout(10_000, () => s.destroy(new Error('the proxy did not close the cancel connection')));
  });
}

/** dbproxy_cancel_requests_total{result} of one proxy. */
async function cancels(proxy: TestProxy, result: string): Promise<number> {
  const { text } = await proxy.admin('/metrics');
  const m = text.match(new RegExp(`^dbproxy_cancel_requests_total\\{result="${result}"\\} (\\d+)`, 'm'));
  if (!m) throw new Error(`no dbproxy_cancel_requests_total{result="${result}"} in /metrics`);
  return Number(m[1]);
}

async function sleeping(tag: string): Promise<void> {
  await waitFor(
    async () => (await db.query(`select count(*)::int as n from pg_stat_activity where query like $1 and state = 'active'`, [`%${tag}%`])).rows[0].n === 1,
    `the query ${tag} to run`,
  );
}

/** A query's outcome: 'ok' or its SQLSTATE. */
function outcome(p: Promise<unknown>): Promise<string> {
  return p.then(
    () => 'ok',
    (e: Error & { code?: string }) => e.code ?? e.message,
  );
}

describe('a cancel sent to another proxy', () => {
  it("is forwarded to the proxy holding the client, and cancels that client's query only", async () => {
    const victim = await connect(a);
    const bystander = await connect(a);
    expect(decodeProcessId(victim.processID)?.peerId).toBe(A_ID);
    const forwardedBefore = await cancels(b, 'forwarded');
    const localBefore = await cancels(a, 'local');
    const query = outcome(victim.query('select pg_sleep(30) /* victim */'));
    const other = outcome(bystander.query('select pg_sleep(3) /* bystander */'));
    await sleeping('victim');
    await sleeping('bystander');
    await sendCancel(b, victim.processID, victim.secretKey);
    expect(await query).toBe('57014');
    // The client itself carries on: only its statement was cancelled.
    expect((await victim.query('select 1 as one')).rows).toEqual([{ one: 1 }]);
    expect(await other).toBe('ok');
    expect(await cancels(b, 'forwarded')).toBe(forwardedBefore + 1);
    expect(await cancels(a, 'local')).toBe(localBefore + 1);
    await Promise.all([victim.end(), bystander.end()]);
  }, 60_000);

  it('pg\'s own cancel of a query on A, sent through B, fails the query with "canceling statement due to user request"', async () => {
    const victim = await connect(a);
    const query = victim.query('select pg_sleep(30) /* pgcancel */').then(
      () => undefined,
      (e: Error & { code?: string }) => e,
    );
    await sleeping('pgcancel');
    // node-postgres' Client.cancel(client, query) sends the victim's key from the canceller's own host and port: B's.
    const canceller = new pg.Client({ connectionString: b.url(APP.name, APP.password) }) as unknown as { cancel(c: unknown, q: unknown): void };
    canceller.cancel(victim, (victim as unknown as { activeQuery: unknown }).activeQuery);
    const err = await query;
    expect(err?.code).toBe('57014');
    expect(err?.message).toBe('canceling statement due to user request');
    await victim.end();
  }, 60_000);

  it("is not forwarded to a database connection that now runs another client's query", async () => {
    const done = await connect(a);
    await done.query('select 1');
    const others = [await connect(a), await connect(a)];
    // Both of A's connections (pool.maxConnections 2) are busy, one of them the finished client's old one.
    const running = others.map((c, i) => outcome(c.query(`select pg_sleep(2) /* busy${i} */`)));
    await sleeping('busy0');
    await sleeping('busy1');
    const before = await cancels(a, 'not_running');
    await sendCancel(b, done.processID, done.secretKey);
    await waitFor(async () => (await cancels(a, 'not_running')) === before + 1, 'A to refuse the cancel of a client that runs nothing');
    expect(await Promise.all(running)).toEqual(['ok', 'ok']);
    await Promise.all([done.end(), ...others.map((c) => c.end())]);
  }, 60_000);

  it.each([
    ['a wrong secret for a live key of A', (v: KeyedClient) => ({ to: () => b, processId: v.processID, secret: v.secretKey ^ 1, owner: () => a })],
    ['an id no peer has', (v: KeyedClient) => ({ to: () => b, processId: encodeProcessId(77, 5), secret: v.secretKey, owner: () => b })],
    [
      "a forwarded cancel that is not the receiver's: never forwarded again",
      (v: KeyedClient) => ({ to: () => b, processId: forwardedProcessId(v.processID), secret: v.secretKey ^ 1, owner: () => b }),
    ],
  ])(
    'drops %s without a word, and the query runs on',
    async (_name, make) => {
      const victim = await connect(a);
      const tag = `bogus${Math.random().toString(36).slice(2, 8)}`;
      const query = outcome(victim.query(`select pg_sleep(1.5) /* ${tag} */`));
      await sleeping(tag);
      const c = make(victim);
      const forwardedBefore = [await cancels(a, 'forwarded'), await cancels(b, 'forwarded')];
      const before = await cancels(c.owner(), 'unknown');
      await sendCancel(c.to(), c.processId, c.secret);
      await waitFor(async () => (await cancels(c.owner(), 'unknown')) === before + 1, 'the bogus cancel to be dropped');
      expect(await query).toBe('ok');
      // Forwarded at most once, by B (to A, the key's owner) and never back.
      expect(await cancels(a, 'forwarded')).toBe(forwardedBefore[0]);
      expect(await cancels(b, 'forwarded')).toBe(forwardedBefore[1]! + (c.owner() === a ? 1 : 0));
      await victim.end();
    },
    60_000,
  );
});
