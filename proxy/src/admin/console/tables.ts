/**
 * SHOW POOLS / CLIENTS / SERVERS / STATS: plain views of what the server knows, laid out as result
 * sets. Column names are PgBouncer's where the concept is the same (so its users' scripts and habits
 * carry over); DBProxy's own columns come after them. Pure: host.ts builds the views.
 */
import { int, secondsAndMicros, text, timestamp, type Column, type ResultSet } from './rows.js';

export type EndpointName = 'writer' | 'reader';

export interface PoolView {
  database: string;
  user: string;
  endpoint: EndpointName;
  /** Clients of the pool that are not waiting for a connection (linked, or idle between units of work). */
  clActive: number;
  /** Clients queued for a connection. */
  clWaiting: number;
  /** Connections borrowed by a client. */
  svActive: number;
  svIdle: number;
  /** Connections being opened (connect, authenticate, startup). */
  svLogin: number;
  /** How long the oldest queued client has waited, in ms (0 with none queued). */
  maxWaitMs: number;
  paused: boolean;
  maxConnections: number;
}

export interface ClientView {
  user: string;
  database: string;
  /** PgBouncer's state: `waiting` while queued for a connection, else `active`. */
  state: 'active' | 'waiting';
  /** The session machine's mode (idle, linked, pinned, …), or `admin` for a console session. */
  mode: string;
  addr: string;
  port: number;
  connectedAt: number;
  lastRequestAt: number;
  /** How long it has waited for a connection, in ms (0 unless waiting). */
  waitMs: number;
  tls: boolean;
  applicationName: string;
  /** The id of the server connection it holds (SHOW SERVERS' id). */
  link: number | null;
  pinned: string | null;
  /** The process id the client was given in BackendKeyData. */
  id: number;
  endpoint: EndpointName;
}

export interface ServerView {
  user: string;
  database: string;
  state: 'active' | 'idle';
  addr: string;
  port: number;
  connectedAt: number;
  lastRequestAt: number;
  /** The id of the client holding it (SHOW CLIENTS' id). */
  link: number | null;
  /** The server's process id, from its BackendKeyData. */
  remotePid: number;
  /** Closes when released instead of being reused: it belongs to an older target generation. */
  closeNeeded: boolean;
  applicationName: string;
  id: number;
  generation: number;
  endpoint: EndpointName;
}

export interface StatsView {
  database: string;
  user: string;
  endpoint: EndpointName;
  /** Units of work that borrowed a connection (a transaction, or a pinned session once). */
  borrows: number;
  /** Time clients spent waiting for a connection, summed, in ms. */
  waitMs: number;
  borrowTimeouts: number;
}

type Row<V> = (v: V) => (string | number | null)[];

function table<V>(columns: Column[], row: Row<V>, views: readonly V[]): ResultSet {
  return { columns, rows: views.map(row), tag: 'SHOW' };
}

const POOL_COLUMNS = [
  text('database'),
  text('user'),
  int('cl_active'),
  int('cl_waiting'),
  int('sv_active'),
  int('sv_idle'),
  int('sv_used'),
  int('sv_login'),
  int('maxwait'),
  int('maxwait_us'),
  text('pool_mode'),
  text('endpoint'),
  int('paused'),
  int('sv_max'),
];

export function poolsTable(pools: readonly PoolView[]): ResultSet {
  return table(
    POOL_COLUMNS,
    (p) => {
      const [wait, waitUs] = secondsAndMicros(p.maxWaitMs);
      // sv_used: PgBouncer's "idle past server_check_delay"; DBProxy does not test idle connections.
      return [
        p.database,
        p.user,
        p.clActive,
        p.clWaiting,
        p.svActive,
        p.svIdle,
        0,
        p.svLogin,
        wait,
        waitUs,
        'transaction',
        p.endpoint,
        p.paused ? 1 : 0,
        p.maxConnections,
      ];
    },
    pools,
  );
}

const CLIENT_COLUMNS = [
  text('type'),
  text('user'),
  text('database'),
  text('state'),
  text('addr'),
  int('port'),
  text('connect_time'),
  text('request_time'),
  int('wait'),
  int('wait_us'),
  int('link'),
  text('tls'),
  text('application_name'),
  int('id'),
  text('endpoint'),
  text('mode'),
  text('pinned'),
];

export function clientsTable(clients: readonly ClientView[]): ResultSet {
  return table(
    CLIENT_COLUMNS,
    (c) => {
      const [wait, waitUs] = secondsAndMicros(c.waitMs);
      return [
        'C',
        c.user,
        c.database,
        c.state,
        c.addr,
        c.port,
        timestamp(c.connectedAt),
        timestamp(c.lastRequestAt),
        wait,
        waitUs,
        c.link,
        c.tls ? 'TLS' : '',
        c.applicationName,
        c.id,
        c.endpoint,
        c.mode,
        c.pinned,
      ];
    },
    clients,
  );
}

const SERVER_COLUMNS = [
  text('type'),
  text('user'),
  text('database'),
  text('state'),
  text('addr'),
  int('port'),
  text('connect_time'),
  text('request_time'),
  int('close_needed'),
  int('link'),
  int('remote_pid'),
  text('application_name'),
  int('id'),
  int('generation'),
  text('endpoint'),
];

export function serversTable(servers: readonly ServerView[]): ResultSet {
  return table(
    SERVER_COLUMNS,
    (s) => [
      'S',
      s.user,
      s.database,
      s.state,
      s.addr,
      s.port,
      timestamp(s.connectedAt),
      timestamp(s.lastRequestAt),
      s.closeNeeded ? 1 : 0,
      s.link,
      s.remotePid,
      s.applicationName,
      s.id,
      s.generation,
      s.endpoint,
    ],
    servers,
  );
}

const STATS_COLUMNS = [
  text('database'),
  text('user'),
  int('total_xact_count'),
  int('total_wait_time'),
  int('avg_wait_time'),
  int('total_borrow_timeouts'),
  text('endpoint'),
];

export function statsTable(stats: readonly StatsView[]): ResultSet {
  // Times in microseconds, as PgBouncer's; averages over the pool's life, not a stats period.
  return table(
    STATS_COLUMNS,
    (s) => [
      s.database,
      s.user,
      s.borrows,
      Math.round(s.waitMs * 1000),
      s.borrows > 0 ? Math.round((s.waitMs * 1000) / s.borrows) : 0,
      s.borrowTimeouts,
      s.endpoint,
    ],
    stats,
  );
}

/** Rows in a stable order: by database, user, then endpoint (writer first). */
export function byPool<V extends { database: string; user: string; endpoint: EndpointName }>(views: V[]): V[] {
  const key = (v: V) => [v.database, v.user, v.endpoint === 'writer' ? 0 : 1] as const;
  return views.sort((a, b) => {
    const [x, y] = [key(a), key(b)];
    return x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : x[1] < y[1] ? -1 : x[1] > y[1] ? 1 : x[2] - y[2];
  });
}
