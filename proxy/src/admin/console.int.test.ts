/**
 * The admin console against a real PostgreSQL, through a proxy started from a config file (as
 * `dbproxy proxy --config FILE` runs): psql and node-postgres as the console's clients, real
 * application clients whose pools, sessions and server connections the console shows, PAUSE and
 * RESUME around a real open transaction, RELOAD of a changed file.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { serialize } from 'pg-protocol';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startPostgres, type PgInstance } from '../testing/postgres.js';
import { startProxy, startProxyFromFile, type TestProxy } from '../testing/start-proxy.js';
import { waitFor } from '../testing/wait.js';

const run = promisify(execFile);
const APP = { user: 'app', password: 'app-pw' };
const OPS = { user: 'ops', password: 'ops-pw' };

let db: PgInstance;
let proxy: TestProxy;
const dir = mkdtempSync(path.join(os.tmpdir(), 'dbproxy-console-'));
const file = path.join(dir, 'proxy.yaml');
const open: pg.Client[] = [];

function writeConfig(pool: string): void {
  writeFileSync(
    file,
    [
      'listen: 127.0.0.1:0',
      'admin: { listen: 127.0.0.1:0, users: [ops] }',
      `targets: ["127.0.0.1:${db.port}"]`,
      'auth:',
      '  method: scram',
      `  users: [{ username: app, password: ${APP.password} }, { username: ops, password: ${OPS.password} }]`,
      `pool: ${pool}`,
      'logLevel: warn',
    ].join('\n'),
  );
}

beforeAll(async () => {
  db = await startPostgres({ users: [{ name: APP.user, password: APP.password }] });
  writeConfig('{ maxConnections: 2, borrowTimeout: 60s }');
  proxy = await startProxyFromFile(file);
}, 120_000);

afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.end().catch(() => undefined)));
});

afterAll(async () => {
  await proxy?.stop();
  await db?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function connect(who: { user: string; password: string }, database: string, applicationName = 'console-test'): Promise<pg.Client> {
  const c = new pg.Client({ host: '127.0.0.1', port: proxy.port, user: who.user, password: who.password, database, application_name: applicationName });
  c.on('error', () => undefined);
  await c.connect();
  open.push(c);
  return c;
}

const consoleClient = () => connect(OPS, 'dbproxy');
const appClient = (name: string) => connect(APP, 'postgres', name);

type Row = Record<string, string | null>;

async function show(c: pg.Client, what: string): Promise<Row[]> {
  return (await c.query<Row>(`SHOW ${what}`)).rows;
}

const appPool = async (c: pg.Client) => (await show(c, 'POOLS')).find((r) => r['database'] === 'postgres' && r['user'] === 'app');

/** The state of a promise now, without waiting for it. */
function track<T>(p: Promise<T>): { state: () => string; done: Promise<T> } {
  let state = 'pending';
  p.then(
    () => (state = 'resolved'),
    () => (state = 'rejected'),
  );
  return { state: () => state, done: p };
}

async function sqlError(p: Promise<unknown>): Promise<{ code?: string; message: string }> {
  try {
    await p;
  } catch (err) {
    return err as { code?: string; message: string };
  }
  throw new Error('expected an error');
}

describe('the admin console (virtual database dbproxy)', () => {
  it('SHOW POOLS, CLIENTS, SERVERS and STATS show the real clients, their pool and its connection', async () => {
    const a = await appClient('client-a');
    const b = await appClient('client-b');
    await a.query('BEGIN');
    const pid = (await a.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid;
    const admin = await consoleClient();

    expect(await appPool(admin)).toMatchObject({
      cl_active: '2',
      cl_waiting: '0',
      sv_active: '1',
      sv_idle: '0',
      sv_used: '0',
      maxwait: '0',
      pool_mode: 'transaction',
      endpoint: 'writer',
      paused: '0',
      sv_max: '2',
    });

    const clients = await show(admin, 'CLIENTS');
    const byApp = (name: string) => clients.find((r) => r['application_name'] === name);
    expect(byApp('client-a')).toMatchObject({
      type: 'C',
      user: 'app',
      database: 'postgres',
      state: 'active',
      mode: 'linked',
      addr: '127.0.0.1',
      tls: '',
      pinned: null,
    });
    expect(byApp('client-b')).toMatchObject({ state: 'active', mode: 'idle', link: null });
    expect(byApp('console-test')).toMatchObject({ user: 'ops', database: 'dbproxy', mode: 'admin' });
    expect(byApp('client-a')!['connect_time']).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$/);

    const servers = await show(admin, 'SERVERS');
    expect(servers).toEqual([
      expect.objectContaining({
        type: 'S',
        user: 'app',
        database: 'postgres',
        state: 'active',
        port: String(db.port),
        remote_pid: String(pid),
        link: byApp('client-a')!['id'],
        application_name: 'client-a',
        close_needed: '0',
      }),
    ]);
    expect(servers[0]!['id']).toBe(byApp('client-a')!['link']);

    const xacts = async () => Number((await show(admin, 'STATS')).find((r) => r['user'] === 'app')!['total_xact_count']);
    const before = await xacts();
    await a.query('COMMIT');
    await b.query('select 1');
    expect(await xacts()).toBe(before + 1); // b's unit of work; a's was counted when it began
    expect(await appPool(admin)).toMatchObject({ sv_active: '0', sv_idle: '1' });
  });

  it('psql prints SHOW POOLS and SHOW CONFIG as result sets', async () => {
    await (await appClient('for-psql')).query('select 1');
    // The clients of the test before have gone (their closes reach the proxy on their own time).
    const admin = await consoleClient();
    await waitFor(async () => (await appPool(admin))?.['cl_active'] === '1', 'one client left in the pool');
    const psql = (sql: string) =>
      run('psql', ['-X', '-A', '-F', '|', '-h', '127.0.0.1', '-p', String(proxy.port), '-U', OPS.user, '-d', 'dbproxy', '-c', sql], {
        env: { ...process.env, PGPASSWORD: OPS.password },
      });
    const pools = (await psql('SHOW POOLS')).stdout.split('\n');
    expect(pools[0]).toBe('database|user|cl_active|cl_waiting|sv_active|sv_idle|sv_used|sv_login|maxwait|maxwait_us|pool_mode|endpoint|paused|sv_max');
    expect(pools).toContain('postgres|app|1|0|0|1|0|0|0|0|transaction|writer|0|2');
    const config = (await psql('show config;')).stdout.split('\n');
    expect(config[0]).toBe('key|value|default|changeable');
    expect(config).toContain('admin.users|ops||yes');
    expect(config).toContain('auth.users|app,ops||yes');
    expect(config).toContain('pool.maxConnections|2|20|yes');
    expect(config.join('\n')).not.toContain(APP.password);
  });

  it('refuses a user who is not an admin (42501), and an admin with a wrong password (28P01)', async () => {
    const refused = await sqlError(connect(APP, 'dbproxy'));
    expect([refused.code, refused.message]).toEqual(['42501', 'permission denied for database "dbproxy"']);
    const wrong = await sqlError(connect({ user: 'ops', password: 'nope' }, 'dbproxy'));
    expect(wrong.code).toBe('28P01');
  });

  it('answers an unknown command or the extended protocol with an error, and the session goes on', async () => {
    const admin = await consoleClient();
    expect((await sqlError(admin.query('SHOW TABLES'))).code).toBe('42601');
    expect((await sqlError(admin.query('KILL postgres'))).code).toBe('0A000');
    expect((await sqlError(admin.query({ text: 'SHOW POOLS', values: [1] }))).code).toBe('0A000');
    expect((await sqlError(admin.query('RESUME'))).message).toBe('nothing is paused');
    expect(await show(admin, 'HELP')).toEqual([]);
    expect((await admin.query('SHOW STATS;')).command).toBe('SHOW');
  });

  it('PAUSE waits for an open transaction to commit, then holds new queries until RESUME', async () => {
    const a = await appClient('in-transaction');
    const b = await appClient('held');
    const admin = await consoleClient();
    const watcher = await consoleClient();
    await a.query('BEGIN');
    await a.query('select 1');

    const pause = track(admin.query('PAUSE'));
    await waitFor(async () => (await appPool(watcher))?.['paused'] === '1', 'the pool to be paused');
    expect(pause.state()).toBe('pending'); // a's transaction still holds its connection
    await a.query('COMMIT');
    expect((await pause.done).command).toBe('PAUSE');

    const held = track(b.query<{ x: number }>('select 42 as x'));
    await waitFor(async () => (await appPool(watcher))?.['cl_waiting'] === '1', 'the query to wait in the queue');
    const waiting = (await show(watcher, 'CLIENTS')).find((r) => r['application_name'] === 'held');
    expect(waiting).toMatchObject({ state: 'waiting', mode: 'waiting' });
    expect(held.state()).toBe('pending');
    expect((await admin.query('RESUME')).command).toBe('RESUME');
    expect((await held.done).rows).toEqual([{ x: 42 }]);
    expect(await appPool(watcher)).toMatchObject({ paused: '0', cl_waiting: '0' });
  });

  it('a cancel stops a PAUSE that waits (57014); the pools stay paused until RESUME', async () => {
    const a = await appClient('holds');
    const admin = await consoleClient();
    const watcher = await consoleClient();
    await a.query('BEGIN');
    await a.query('select 1');
    const pause = sqlError(admin.query('PAUSE postgres'));
    await waitFor(async () => (await appPool(watcher))?.['paused'] === '1', 'the pool to be paused');
    await cancel(admin);
    expect((await pause).code).toBe('57014');
    expect(await appPool(admin)).toMatchObject({ paused: '1', sv_active: '1' });
    await admin.query('RESUME postgres');
    await a.query('COMMIT');
    expect(await appPool(admin)).toMatchObject({ paused: '0' });
  });

  it('RELOAD applies the changed config file; a paused pool still times borrowers out; a bad file is refused and kept', async () => {
    const admin = await consoleClient();
    writeConfig('{ maxConnections: 3, borrowTimeout: 1s }');
    expect((await admin.query('RELOAD')).command).toBe('RELOAD');
    const config = new Map((await show(admin, 'CONFIG')).map((r) => [r['key'], r['value']]));
    expect([config.get('pool.maxConnections'), config.get('pool.borrowTimeout')]).toEqual(['3', '1s']);
    const b = await appClient('times-out');
    expect(await appPool(admin)).toMatchObject({ sv_max: '3' });

    await admin.query('PAUSE');
    const timedOut = await sqlError(b.query('select 1'));
    expect(timedOut.code).toBe('53300');
    expect(timedOut.message).toMatch(/^timed out after 1000 ms waiting for a database connection/);
    await admin.query('RESUME');
    expect((await b.query<{ n: number }>('select 7 as n')).rows).toEqual([{ n: 7 }]);

    writeConfig('{ maxConnections: 0 }');
    const refused = await sqlError(admin.query('reload;'));
    expect([refused.code, refused.message]).toEqual(['F0000', expect.stringContaining('pool.maxConnections: must be >= 1')]);
    expect(new Map((await show(admin, 'CONFIG')).map((r) => [r['key'], r['value']])).get('pool.maxConnections')).toBe('3');
    const report = JSON.parse((await proxy.admin('/config')).text) as { refused?: { problems: string[] } };
    expect(report.refused?.problems).toContain('pool.maxConnections: must be >= 1');
  });

  it('RELOAD on a proxy started from flags (no file) is an error, and the session goes on', async () => {
    const flags = await startProxy({ targets: [`127.0.0.1:${db.port}`], auth: { method: 'trust' }, admin: { listen: '127.0.0.1:0', users: ['ops'] } });
    try {
      const c = new pg.Client({ host: '127.0.0.1', port: flags.port, user: 'ops', database: 'dbproxy' });
      await c.connect();
      try {
        expect((await sqlError(c.query('RELOAD'))).message).toBe('this proxy runs from command-line flags: there is no config file or Secret to re-read');
        expect((await c.query('SHOW POOLS')).rows).toEqual([]);
      } finally {
        await c.end();
      }
    } finally {
      await flags.stop();
    }
  });
});

/** A CancelRequest with the client's key, as libpq sends one (node-postgres keeps the key it was given). */
async function cancel(c: pg.Client): Promise<void> {
  const { processID, secretKey } = c as unknown as { processID: number; secretKey: number };
  const socket = net.connect(proxy.port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  socket.end(serialize.cancel(processID, secretKey));
  await new Promise((r) => socket.once('close', r));
}
