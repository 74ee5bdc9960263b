/**
 * `bin/dbproxy proxy` as a user runs it (needs `npm run build`): quick-mode flags, config file and
 * its reload, SIGTERM drain, psql and pgbench through it.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostgres, type PgInstance } from './testing/postgres.js';
import { spawnDbproxy, type SpawnedProxy } from './testing/proxy-process.js';
import { waitFor } from './testing/wait.js';

const run = promisify(execFile);
const BIN = path.resolve(import.meta.dirname, '../../bin/dbproxy');
let db: PgInstance;
const dir = mkdtempSync(path.join(os.tmpdir(), 'dbproxy-main-'));

beforeAll(async () => {
  db = await startPostgres({ authMethod: 'trust', settings: { max_connections: '60' } });
}, 120_000);
afterAll(() => db?.stop());

const start = spawnDbproxy;

function quick(extra: string[] = []): string[] {
  return ['--listen', '127.0.0.1:0', '--admin-listen', '127.0.0.1:0', '--target', `127.0.0.1:${db.port}`, '--auth', 'trust', '--log-level', 'info', ...extra];
}

async function status(r: SpawnedProxy): Promise<{ pools: { maxConnections: number }[]; clients: { total: number } }> {
  return (await fetch(`http://127.0.0.1:${r.adminPort}/status`)).json() as never;
}

async function configReport(r: SpawnedProxy): Promise<{ source: string; appliedAt: string; refused?: { problems: string[] } }> {
  return (await fetch(`http://127.0.0.1:${r.adminPort}/config`)).json() as never;
}

describe('bin/dbproxy proxy', () => {
  it('refuses bad flags with every problem and the usage, exit code 2', async () => {
    const err = (await run(process.execPath, [BIN, 'proxy', '--target', 'nohost', '--pool-size', 'x']).catch((e: unknown) => e)) as {
      code: number;
      stderr: string;
    };
    expect(err.code).toBe(2);
    expect(err.stderr).toMatch(/invalid address "nohost"/);
    expect(err.stderr).toMatch(/--pool-size: expected a whole number/);
    const unknown = (await run(process.execPath, [BIN, 'proxy', '--bogus']).catch((e: unknown) => e)) as { code: number; stderr: string };
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/unknown flag "--bogus"/);
    expect(unknown.stderr).toMatch(/usage:/);
  });

  it('refuses an invalid config file listing every problem', async () => {
    const file = path.join(dir, 'bad.yaml');
    writeFileSync(file, 'targets: []\npool:\n  maxConnections: 0\n  borrowTimeout: soon\nbogus: 1\n');
    const err = (await run(process.execPath, [BIN, 'proxy', '--config', file]).catch((e: unknown) => e)) as { code: number; stderr: string };
    expect(err.code).toBe(2);
    for (const p of ['targets: at least one target', 'pool.maxConnections', 'pool.borrowTimeout: invalid duration "soon"', 'bogus']) {
      expect(err.stderr).toContain(p);
    }
  });

  it('runs psql through quick mode', async () => {
    const r = await start(quick(['--pool-size', '2']));
    const { stdout } = await run('psql', ['-h', '127.0.0.1', '-p', String(r.port), '-U', 'postgres', '-d', 'postgres', '-Atc', 'select 40 + 2']);
    expect(stdout.trim()).toBe('42');
    r.child.kill('SIGTERM');
    expect(await r.exited).toBe(0);
  });

  it('re-reads a changed config file without dropping clients, and keeps the old one when the new is invalid', async () => {
    const file = path.join(dir, 'proxy.yaml');
    const config = (pool: number) =>
      `listen: 127.0.0.1:0\nadmin: { listen: 127.0.0.1:0 }\ntargets: [{ host: 127.0.0.1, port: ${db.port} }]\nauth: { method: trust }\npool: { maxConnections: ${pool} }\n`;
    writeFileSync(file, config(2));
    const r = await start(['--config', file]);
    const c = new pg.Client({ host: '127.0.0.1', port: r.port, user: 'postgres', database: 'postgres' });
    await c.connect();
    await c.query('select 1');
    writeFileSync(file, config(7));
    const deadline = Date.now() + 15_000;
    await waitFor(
      async () => (await status(r)).pools[0]!.maxConnections === 7,
      () => `the config reload:\n${r.output()}`,
      { timeoutMs: 15_000, intervalMs: 100 },
    );
    writeFileSync(file, 'targets: not-a-list\n');
    await waitFor(
      () => r.output().includes('config file rejected'),
      () => `the invalid config to be reported:\n${r.output()}`,
      { timeoutMs: deadline + 15_000 - Date.now(), intervalMs: 100 },
    );
    expect((await status(r)).pools[0]!.maxConnections).toBe(7);
    expect((await c.query('select 2 as n')).rows[0].n).toBe(2);
    // /config: the refusal is visible (what the operator reads from each pod), the running config kept.
    const refused = await configReport(r);
    expect(refused.source).toBe(`file ${file}`);
    expect(refused.refused?.problems.join('\n')).toMatch(/targets/);
    writeFileSync(file, config(3));
    await waitFor(
      async () => (await configReport(r)).refused === undefined,
      () => `the fixed config to clear the refusal:\n${r.output()}`,
      { timeoutMs: 15_000, intervalMs: 100 },
    );
    expect((await status(r)).pools[0]!.maxConnections).toBe(3);
    await c.end();
    r.child.kill('SIGTERM');
    await r.exited;
  });

  it('the admin console RELOAD re-reads the config file at once (psql)', async () => {
    const file = path.join(dir, 'console.yaml');
    const config = (pool: number) =>
      `listen: 127.0.0.1:0\nadmin: { listen: 127.0.0.1:0, users: [postgres] }\ntargets: [{ host: 127.0.0.1, port: ${db.port} }]\nauth: { method: trust }\npool: { maxConnections: ${pool} }\n`;
    writeFileSync(file, config(2));
    const r = await start(['--config', file]);
    writeFileSync(file, config(9));
    // RELOAD answers once the new config runs: the SHOW CONFIG after it sees it, whatever the watcher does.
    const { stdout } = await run('psql', [
      '-X',
      '-A',
      '-t',
      '-h',
      '127.0.0.1',
      '-p',
      String(r.port),
      '-U',
      'postgres',
      '-d',
      'dbproxy',
      '-c',
      'RELOAD',
      '-c',
      'SHOW CONFIG',
    ]);
    expect(stdout.split('\n')).toContain('pool.maxConnections|9|20|yes');
    r.child.kill('SIGTERM');
    await r.exited;
  });

  it('on SIGTERM stops accepting, lets a running transaction finish, then exits 0', async () => {
    const r = await start(quick(['--pool-size', '2']));
    const c = new pg.Client({ host: '127.0.0.1', port: r.port, user: 'postgres', database: 'postgres' });
    await c.connect();
    await c.query('begin');
    const slow = c.query('select pg_sleep(1) as s, 7 as n');
    await new Promise((res) => setTimeout(res, 200));
    r.child.kill('SIGTERM');
    await new Promise((res) => setTimeout(res, 200));
    const late = new pg.Client({ host: '127.0.0.1', port: r.port, user: 'postgres', database: 'postgres' });
    await expect(late.connect()).rejects.toThrow();
    expect((await slow).rows[0].n).toBe(7);
    // Its unit of work done, the client is told to go: FATAL 57P01, as PostgreSQL's fast shutdown says.
    const told = new Promise<Error & { code?: string }>((resolve) => c.on('error', resolve));
    await c.query('commit');
    expect((await told).code).toBe('57P01');
    expect(await r.exited).toBe(0);
  });

  it('holds 1,000 pgbench clients on a pool of 20: zero failed transactions, never more than 20 backends', async () => {
    await run('pgbench', ['-h', '127.0.0.1', '-p', String(db.port), '-U', 'postgres', '-i', '-s', '1', '-q', 'postgres']);
    const r = await start(quick(['--pool-size', '20']));
    let peak = 0;
    const poll = setInterval(() => {
      db.query(`select count(*)::int as n from pg_stat_activity where backend_type = 'client backend' and application_name = 'pgbench'`).then(
        (q) => (peak = Math.max(peak, q.rows[0].n as number)),
        () => undefined,
      );
    }, 100);
    const { stdout } = await run(
      'pgbench',
      ['-h', '127.0.0.1', '-p', String(r.port), '-U', 'postgres', '-n', '-S', '-c', '1000', '-j', '4', '-t', '10', 'postgres'],
      {
        maxBuffer: 1 << 24,
      },
    );
    clearInterval(poll);
    expect(stdout).toMatch(/number of transactions actually processed: 10000\/10000/);
    expect(stdout).toMatch(/number of failed transactions: 0/);
    expect(peak).toBeGreaterThan(0);
    expect(peak).toBeLessThanOrEqual(20);
    r.child.kill('SIGTERM');
    await r.exited;
  });
});
