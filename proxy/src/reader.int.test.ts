/**
 * The read-only endpoint in the standalone proxy: clients on `reader.listen` run on the standby
 * among the targets; when it goes, they fall back to the writer (`whenNoReader: writer`), and the
 * writer's endpoint never lands on the standby.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../contract/config/load.js';
import { startPostgres, startStandby, type PgInstance } from './testing/postgres.js';
import { startProxy, type TestProxy } from './testing/start-proxy.js';
import { waitFor } from './testing/wait.js';

const APP = { username: 'app', password: 'app-secret' };
const POLL = { timeoutMs: 30_000, intervalMs: 50 };

describe('the reader endpoint', () => {
  let primary: PgInstance;
  let standby: PgInstance;
  let proxy: TestProxy;
  const readerPort = () => Number(proxy.server.address('reader').split(':').pop());
  const status = async () => JSON.parse((await proxy.admin('/status')).text) as { target: string | null; readers: { endpoints: string[] } | null };
  const where = async (port: number) => {
    const c = new pg.Client({ host: '127.0.0.1', port, user: APP.username, password: APP.password, database: 'postgres' });
    await c.connect();
    try {
      return (await c.query<{ port: number; r: boolean }>('select inet_server_port() as port, pg_is_in_recovery() as r')).rows[0];
    } finally {
      await c.end();
    }
  };

  beforeAll(async () => {
    primary = await startPostgres({ users: [{ name: APP.username, password: APP.password, superuser: true }] });
    standby = await startStandby(primary);
    proxy = await startProxy({
      targets: [
        { host: primary.host, port: primary.port },
        { host: standby.host, port: standby.port },
      ],
      reader: { listen: '127.0.0.1:0', whenNoReader: 'writer', pool: { maxConnections: 3 } },
      auth: { method: 'scram', users: [APP] },
      healthCheck: { interval: '200ms', failureThreshold: 2, timeout: '2s' },
    });
    await waitFor(
      async () => (await status()).readers?.endpoints.length === 1 && (await status()).target !== null,
      'the proxy to know its writer and reader',
      POLL,
    );
  }, 180_000);
  afterAll(async () => {
    await proxy?.stop();
    await standby?.stop();
    await primary?.stop();
  });

  it('serves reads on the standby there, and writes on the primary on the main endpoint', async () => {
    expect(await where(readerPort())).toEqual({ port: standby.port, r: true });
    expect(await where(proxy.port)).toEqual({ port: primary.port, r: false });
    expect((await status()).readers?.endpoints).toEqual([`${standby.host}:${standby.port}`]);
  });

  it('sizes the reader pools by reader.pool, apart from the writer pools', async () => {
    const sleepers = Array.from({ length: 6 }, async () => {
      const c = new pg.Client({ host: '127.0.0.1', port: readerPort(), user: APP.username, password: APP.password, database: 'postgres' });
      await c.connect();
      try {
        await c.query('select pg_sleep(0.3)');
      } finally {
        await c.end();
      }
    });
    await Promise.all(sleepers);
    const { pools } = JSON.parse((await proxy.admin('/status')).text) as { pools: { endpoint: string; size: number; maxConnections: number }[] };
    const reader = pools.find((p) => p.endpoint === 'reader');
    expect(reader).toMatchObject({ maxConnections: 3 });
    expect(reader!.size).toBeGreaterThan(0);
    expect(reader!.size).toBeLessThanOrEqual(3);
    expect(pools.find((p) => p.endpoint === 'writer')).toMatchObject({ maxConnections: 20 });
  });

  it('falls back to the writer when the standby goes', async () => {
    await standby.kill();
    await waitFor(async () => (await status()).readers?.endpoints.length === 0, 'the reader set to empty', POLL);
    expect(await where(readerPort())).toEqual({ port: primary.port, r: false });
  });
});

describe('the reader endpoint with the standbys the config names (as the operator renders it)', () => {
  let primary: PgInstance;
  let standby: PgInstance;
  let proxy: TestProxy;
  const config = (readers: PgInstance[], whenNoReader: 'wait' | 'writer') => ({
    listen: '127.0.0.1:0',
    admin: { listen: '127.0.0.1:0' },
    targets: [{ host: primary.host, port: primary.port }],
    reader: { listen: '127.0.0.1:0', whenNoReader, targets: readers.map((r) => ({ host: r.host, port: r.port })) },
    auth: { method: 'scram', users: [APP] },
  });

  beforeAll(async () => {
    primary = await startPostgres({ users: [{ name: APP.username, password: APP.password, superuser: true }] });
    standby = await startStandby(primary);
    proxy = await startProxy(config([standby], 'wait'));
  }, 180_000);
  afterAll(async () => {
    await proxy?.stop();
    await standby?.stop();
    await primary?.stop();
  });

  it('reads from the named standby; a reload that names none sends reads to the writer', async () => {
    const readerPort = Number(proxy.server.address('reader').split(':').pop());
    const c = new pg.Client({ host: '127.0.0.1', port: readerPort, user: APP.username, password: APP.password, database: 'postgres' });
    await c.connect();
    expect((await c.query('select inet_server_port() as port')).rows[0].port).toBe(standby.port);
    proxy.server.applyConfig(parseConfig(config([], 'writer'), 'test'));
    // The same client connection: its next unit of work runs where the reader pool now goes.
    expect((await c.query('select inet_server_port() as port')).rows[0].port).toBe(primary.port);
    await c.end();
  });
});
