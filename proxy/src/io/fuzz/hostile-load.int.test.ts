/**
 * Hostile load, bounded: real pgbench (PostgreSQL 15's) through a proxy process, once with the
 * native I/O core as its mover and once with Node's sockets, while thousands of hostile
 * connections (hostile-load.ts) send garbage, stall before their startup and in their SCRAM
 * exchange, close abruptly, send oversized and malformed messages, wait in the borrow queue with
 * malformed messages and floods, leave mid-transaction and mid-COPY, read results slowly, and find
 * the pod's client limit full.
 * pgbench must see zero failures and commit exactly what it counts; the proxy must stay up, keep
 * its memory within a bound in bytes, let go of every client and answer a fresh SELECT 1.
 * Needs `npm run build` (the proxy runs from dist/ as `bin/dbproxy proxy --config FILE`).
 */
import { execFile } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostgres, type PgInstance } from '../../testing/postgres.js';
import { startProxyProcess, type ProxyProcess } from '../../testing/proxy-process.js';
import { waitFor } from '../../testing/wait.js';
import { nativeUnavailable } from '../native-conn.js';
import { hostileAuth } from './hostile-client.js';
import { hostileLoad } from './hostile-load.js';
import { HOSTILE_USER, LIMIT } from './knobs.js';
import { QUEUE_LIMIT } from '../../client/session.js';
import { prepareDatabase } from './proxy.js';

const run = promisify(execFile);
const SECONDS = Number(process.env['HOSTILE_LOAD_SECONDS'] ?? 25);
const BENCH = { name: 'bench', password: 'bench-password', superuser: true };
const HOSTILE_PASSWORD = 'hostile-password';
const MIB = 1024 * 1024;
const HOSTILE_WORKERS = 192;
/** Hostile connections the proxy admits at once (the rest are refused at its client limit). */
const ADMITTED = HOSTILE_WORKERS - 60;
/**
 * How much the proxy may grow over its warmed-up size at the peak of the run, from what it may hold
 * for one admitted connection (docs/configuration.md, "Limits and backpressure": a message of at most
 * maxMessageLength — LIMIT here —, the borrow queue's QUEUE_LIMIT, a socket's high-water mark each
 * way) times the connections admitted at once, plus room for garbage the collector has not reclaimed
 * yet. Without the caps, growth follows the bytes sent (a flood alone took 200 MiB in
 * backpressure.int.test.ts), not this; unloaded runs peaked about 230 (native) and 310 MiB (node)
 * above the warm size with over 8,000 hostile connections.
 */
const PEAK_GROWTH = ADMITTED * (LIMIT + QUEUE_LIMIT + 2 * 64 * 1024) + 128 * MIB;

let db: PgInstance;
const seed = Number(process.env['HOSTILE_LOAD_SEED'] ?? randomInt(0, 0x7fffffff));

beforeAll(async () => {
  db = await startPostgres({ authMethod: 'scram-sha-256', users: [BENCH], settings: { max_connections: '60' } });
  await run('pgbench', ['-h', db.host, '-p', String(db.port), '-U', db.superuser, '-i', '-s', '1', '-q', 'postgres'], {
    env: { ...process.env, PGPASSWORD: db.superuserPassword },
  });
  const direct = new pg.Client({ connectionString: db.connectionString() });
  await direct.connect();
  await prepareDatabase(direct);
  await direct.query(`alter role ${HOSTILE_USER} password '${HOSTILE_PASSWORD}'`);
  await direct.end();
  hostileAuth.password = HOSTILE_PASSWORD;
}, 120_000);

afterAll(async () => {
  hostileAuth.password = undefined;
  await db?.stop();
});

function proxyConfig(io: 'native' | 'node'): Record<string, unknown> {
  return {
    targets: [`127.0.0.1:${db.port}`],
    auth: {
      method: 'scram',
      users: [
        { username: BENCH.name, password: BENCH.password },
        { username: HOSTILE_USER, password: HOSTILE_PASSWORD },
      ],
    },
    io,
    // Small pools: pgbench's clients and the hostile ones queue for their connections.
    pool: { maxConnections: 10, maxUserConnections: 5 },
    // Short, so the stalling scenarios reach them; not so short that a loaded machine trips honest clients.
    // Fewer client connections than hostile workers: some of them are refused (pgbench connects first).
    limits: { maxClientConnections: ADMITTED, startupTimeout: '2s', authenticationTimeout: '3s' },
    maxMessageLength: LIMIT,
    logLevel: 'warn',
  };
}

async function refused(p: ProxyProcess): Promise<Record<string, number>> {
  const text = await p.metrics();
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/^dbproxy_client_connections_refused_total\{reason="(\w+)"\} (\d+)/gm)) out[m[1]!] = Number(m[2]);
  return out;
}

describe.each(['native', 'node'] as const)('hostile load through io: %s', (io) => {
  let proxy: ProxyProcess | undefined;
  afterAll(() => proxy?.stop());

  it(`pgbench sees zero failures while thousands of hostile connections hit the proxy for ${SECONDS} s; the proxy stays up, bounded, and clean`, async (ctx) => {
    if (io === 'native' && nativeUnavailable()) {
      console.warn(`hostile-load: io native skipped: ${nativeUnavailable()}`);
      ctx.skip();
    }
    proxy = await startProxyProcess(proxyConfig(io));
    const bench = { user: BENCH.name, password: BENCH.password };
    const r = await hostileLoad({ db, proxy, bench, seconds: SECONDS, hostileWorkers: HOSTILE_WORKERS, pgbenchClients: 8, seed });
    const mib = (b: number) => `${(b / MIB).toFixed(1)} MiB`;
    const shown = JSON.stringify({ seed, ...r, pgbench: { ...r.pgbench, output: undefined }, memory: undefined }, null, 1);
    console.log(
      `hostile-load ${io}: seed ${seed}; ${r.hostileConnections} hostile connections (${r.hostileLogins} logged in), pgbench ${r.pgbench.processed} transactions, ` +
        `RSS ${mib(r.memory.baseline)} warm → peak ${mib(r.memory.peak)} → ${mib(r.memory.after)} at the end; refused/closed by limits ${JSON.stringify(await refused(proxy))}`,
    );
    const why = `${shown}\n--- pgbench\n${r.pgbench.output}\n--- proxy output\n${proxy.output().slice(-6_000)}`;

    expect(proxy.alive(), why).toBe(true);
    expect(r.pgbench.failed, why).toBe(0);
    expect(r.pgbench.aborted, why).toBe(0);
    expect(r.pgbench.exitCode, why).toBe(0);
    expect(r.pgbench.processed, why).toBeGreaterThan(0);
    // Every transaction pgbench counted committed once: one history row each, no more, no less.
    expect(r.historyRows, why).toBe(r.pgbench.processed);
    expect(r.driverFailures, why).toEqual([]);
    expect(r.hostileConnections, why).toBeGreaterThan(1_000);
    for (const stage of ['mid-sasl', 'stall-startup', 'borrow-queue', 'slow-reader', 'mid-copy', 'mid-transaction', 'oversized', 'garbage']) {
      expect(r.scenarios[stage] ?? 0, `${stage} ran\n${why}`).toBeGreaterThan(0);
    }
    expect(r.memory.peak - r.memory.baseline, why).toBeLessThan(PEAK_GROWTH);
    // The stages the limits end were reached.
    const limits = await refused(proxy);
    expect(limits['startup_timeout'], why).toBeGreaterThan(0);
    expect(limits['max_client_connections'], why).toBeGreaterThan(0);
    expect(limits['authentication_timeout'], why).toBeGreaterThan(0);
    // Nothing failed inside the proxy (an error-level line is a session that failed on the proxy's own code).
    expect(proxy.output(), why).not.toMatch(/"level":(50|60)/);

    // Every client is let go, and the proxy still answers.
    await waitFor(async () => (await proxy!.status()).clients.total === 0, 'the proxy to let go of every client', { timeoutMs: 20_000, intervalMs: 200 });
    const c = new pg.Client({ host: '127.0.0.1', port: proxy.port, user: BENCH.name, password: BENCH.password, database: 'postgres' });
    await c.connect();
    expect((await c.query('select 1 as n')).rows[0].n).toBe(1);
    await c.end();
    await waitFor(async () => (await proxy!.status()).clients.total === 0, 'the check client to leave', { timeoutMs: 10_000 });
    expect(proxy.alive(), why).toBe(true);
  }, 180_000);
});
