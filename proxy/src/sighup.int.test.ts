/**
 * SIGHUP on `bin/dbproxy proxy` (needs `npm run build`): the config file is re-read and applied (pool
 * size, users), a bad one is logged and the old one kept, and the process never dies of it.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from './testing/ports.js';
import { startPostgres, type PgInstance } from './testing/postgres.js';
import { spawnDbproxy, type SpawnedProxy } from './testing/proxy-process.js';
import { waitFor } from './testing/wait.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'dbproxy-sighup-'));
let db: PgInstance;
const children: ChildProcess[] = [];

beforeAll(async () => {
  db = await startPostgres({ authMethod: 'trust' });
  await db.query("create role alice login password 'a'; create role bob login password 'b'");
}, 120_000);
afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  await db?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function start(args: string[]): Promise<SpawnedProxy> {
  const r = await spawnDbproxy(args);
  children.push(r.child);
  return r;
}

describe('SIGHUP', () => {
  it('re-reads the config file: pool size and users applied, a bad file refused, the process alive', async () => {
    const [port, adminPort] = [await freePort(), await freePort()];
    const file = path.join(dir, 'proxy.yaml');
    const config = (pool: number, users: string) =>
      `listen: 127.0.0.1:${port}\nadmin: { listen: 127.0.0.1:${adminPort} }\ntargets: [{ host: 127.0.0.1, port: ${db.port} }]\n` +
      `auth: { method: scram, users: [${users}] }\npool: { maxConnections: ${pool} }\n`;
    writeFileSync(file, config(2, '{ username: alice, password: a }'));
    const r = await start(['--config', file]);
    const admin = async <T>(p: string): Promise<T> => (await fetch(`http://127.0.0.1:${adminPort}${p}`)).json() as Promise<T>;
    const applied = async () => (await admin<{ appliedAt: string }>('/config')).appliedAt;
    const login = async (user: string, password: string) => {
      const c = new pg.Client({ host: '127.0.0.1', port, user, password, database: 'postgres' });
      try {
        await c.connect();
        return (await c.query('select current_user as u')).rows[0].u as string;
      } finally {
        await c.end().catch(() => {});
      }
    };
    expect(await login('alice', 'a')).toBe('alice');
    await expect(login('bob', 'b')).rejects.toThrow(/password authentication failed|does not exist/);

    // An unchanged file: the watcher has nothing to deliver, so only the signal re-applies it.
    const first = await applied();
    await new Promise((res) => setTimeout(res, 20)); // appliedAt has millisecond resolution
    r.child.kill('SIGHUP');
    await waitFor(
      async () => (await applied()) !== first,
      () => `SIGHUP to re-apply the config:\n${r.output()}`,
    );
    expect(r.output()).toContain('SIGHUP: re-reading the config');

    writeFileSync(file, config(5, '{ username: alice, password: a }, { username: bob, password: b }'));
    r.child.kill('SIGHUP');
    await waitFor(
      async () => (await admin<{ pools: { maxConnections: number }[] }>('/status')).pools[0]?.maxConnections === 5,
      () => `the new pool size:\n${r.output()}`,
    );
    expect(await login('bob', 'b')).toBe('bob');

    writeFileSync(file, 'targets: not-a-list\n');
    r.child.kill('SIGHUP');
    await waitFor(
      () => r.output().includes('SIGHUP: config rejected'),
      () => `the refusal to be logged:\n${r.output()}`,
    );
    expect(r.child.exitCode).toBeNull();
    expect(await login('bob', 'b')).toBe('bob');
    expect((await admin<{ pools: { maxConnections: number }[] }>('/status')).pools[0]?.maxConnections).toBe(5);

    r.child.kill('SIGTERM');
    expect(await r.exited).toBe(0);
  }, 60_000);

  it('in quick mode (flags, nothing to re-read) says so and keeps running', async () => {
    const r = await start(['--listen', '127.0.0.1:0', '--admin-listen', '127.0.0.1:0', '--target', `127.0.0.1:${db.port}`, '--auth', 'trust']);
    r.child.kill('SIGHUP');
    await waitFor(
      () => r.output().includes('no config file or Secret to re-read'),
      () => `the warning:\n${r.output()}`,
    );
    expect(r.child.exitCode).toBeNull();
    r.child.kill('SIGTERM');
    expect(await r.exited).toBe(0);
  }, 30_000);
});
