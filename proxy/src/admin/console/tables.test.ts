import { describe, expect, it } from 'vitest';
import { byPool, clientsTable, poolsTable, serversTable, statsTable, type ClientView, type PoolView, type ServerView } from './tables.js';
import { splitAddress } from './host.js';

const T0 = Date.UTC(2024, 0, 2, 3, 4, 5);

function named(r: { columns: readonly { name: string }[]; rows: readonly (readonly unknown[])[] }): Record<string, unknown>[] {
  return r.rows.map((row) => Object.fromEntries(r.columns.map((c, i) => [c.name, row[i]])));
}

const pool: PoolView = {
  database: 'app',
  user: 'alice',
  endpoint: 'writer',
  clActive: 3,
  clWaiting: 2,
  svActive: 4,
  svIdle: 1,
  svLogin: 1,
  maxWaitMs: 2_500.25,
  paused: true,
  maxConnections: 20,
};

describe('admin console tables', () => {
  it('SHOW POOLS: PgBouncer columns first, then DBProxy own', () => {
    const r = poolsTable([pool]);
    expect(r.tag).toBe('SHOW');
    expect(r.columns.map((c) => c.name)).toEqual([
      'database',
      'user',
      'cl_active',
      'cl_waiting',
      'sv_active',
      'sv_idle',
      'sv_used',
      'sv_login',
      'maxwait',
      'maxwait_us',
      'pool_mode',
      'endpoint',
      'paused',
      'sv_max',
    ]);
    expect(named(r)).toEqual([
      {
        database: 'app',
        user: 'alice',
        cl_active: 3,
        cl_waiting: 2,
        sv_active: 4,
        sv_idle: 1,
        sv_used: 0,
        sv_login: 1,
        maxwait: 2,
        maxwait_us: 500_250,
        pool_mode: 'transaction',
        endpoint: 'writer',
        paused: 1,
        sv_max: 20,
      },
    ]);
  });

  it('SHOW CLIENTS: state waiting or active, times as timestamps, the held connection as link', () => {
    const c: ClientView = {
      user: 'alice',
      database: 'app',
      state: 'waiting',
      mode: 'waiting',
      addr: '127.0.0.1',
      port: 50000,
      connectedAt: T0,
      lastRequestAt: T0 + 1000,
      waitMs: 1_000,
      tls: true,
      applicationName: 'psql',
      link: null,
      pinned: null,
      id: 4242,
      endpoint: 'reader',
    };
    const pinned: ClientView = { ...c, state: 'active', mode: 'pinned', waitMs: 0, tls: false, link: 7, pinned: 'LISTEN' };
    expect(named(clientsTable([c, pinned]))).toEqual([
      {
        type: 'C',
        user: 'alice',
        database: 'app',
        state: 'waiting',
        addr: '127.0.0.1',
        port: 50000,
        connect_time: '2024-01-02 03:04:05 UTC',
        request_time: '2024-01-02 03:04:06 UTC',
        wait: 1,
        wait_us: 0,
        link: null,
        tls: 'TLS',
        application_name: 'psql',
        id: 4242,
        endpoint: 'reader',
        mode: 'waiting',
        pinned: null,
      },
      expect.objectContaining({ state: 'active', mode: 'pinned', link: 7, tls: '', pinned: 'LISTEN', wait: 0 }),
    ]);
  });

  it('SHOW SERVERS: close_needed for an older generation, the holding client as link', () => {
    const s: ServerView = {
      user: 'alice',
      database: 'app',
      state: 'active',
      addr: 'db',
      port: 5432,
      connectedAt: T0,
      lastRequestAt: T0,
      link: 4242,
      remotePid: 999,
      closeNeeded: true,
      applicationName: 'psql',
      id: 7,
      generation: 3,
      endpoint: 'writer',
    };
    expect(named(serversTable([s, { ...s, state: 'idle', link: null, closeNeeded: false, applicationName: '' }]))).toEqual([
      {
        type: 'S',
        user: 'alice',
        database: 'app',
        state: 'active',
        addr: 'db',
        port: 5432,
        connect_time: '2024-01-02 03:04:05 UTC',
        request_time: '2024-01-02 03:04:05 UTC',
        close_needed: 1,
        link: 4242,
        remote_pid: 999,
        application_name: 'psql',
        id: 7,
        generation: 3,
        endpoint: 'writer',
      },
      expect.objectContaining({ state: 'idle', close_needed: 0, link: null }),
    ]);
  });

  it('SHOW STATS: times in microseconds, the average per borrow (0 before any)', () => {
    const rows = named(
      statsTable([
        { database: 'app', user: 'alice', endpoint: 'writer', borrows: 4, waitMs: 10.5, borrowTimeouts: 1 },
        { database: 'app', user: 'bob', endpoint: 'writer', borrows: 0, waitMs: 0, borrowTimeouts: 0 },
      ]),
    );
    expect(rows).toEqual([
      { database: 'app', user: 'alice', total_xact_count: 4, total_wait_time: 10_500, avg_wait_time: 2_625, total_borrow_timeouts: 1, endpoint: 'writer' },
      { database: 'app', user: 'bob', total_xact_count: 0, total_wait_time: 0, avg_wait_time: 0, total_borrow_timeouts: 0, endpoint: 'writer' },
    ]);
  });

  it('orders rows by database, user, then the writer before the reader', () => {
    const v = (database: string, user: string, endpoint: 'writer' | 'reader') => ({ database, user, endpoint });
    expect(byPool([v('b', 'x', 'writer'), v('a', 'y', 'reader'), v('a', 'y', 'writer'), v('a', 'x', 'reader')])).toEqual([
      v('a', 'x', 'reader'),
      v('a', 'y', 'writer'),
      v('a', 'y', 'reader'),
      v('b', 'x', 'writer'),
    ]);
  });

  it.each([
    ['127.0.0.1:5432', ['127.0.0.1', 5432]],
    ['::1:60000', ['::1', 60000]],
    ['::ffff:10.0.0.1:7', ['::ffff:10.0.0.1', 7]],
    ['nohost', ['nohost', 0]],
  ] as const)('splitAddress(%s)', (input, want) => expect(splitAddress(input)).toEqual(want));
});
