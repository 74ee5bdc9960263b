/**
 * What the admin console asks of the proxy around it (ConsoleHost), and the server's side of it:
 * views of the pools, client sessions and server connections the server already keeps, the pause
 * state, and RELOAD through the server's own reload.
 */
import type { ProxyConfig } from '../../../../contract/config/schema.js';
import type { BackendConnection } from '../../backend/connection.js';
import type { PoolHandle } from '../../client/context.js';
import type { ClientSession } from '../../client/session.js';
import { Mode } from '../../session/state.js';
import type { ShowTarget } from './commands.js';
import { configTable } from './config-table.js';
import { Pauses } from './pauses.js';
import type { ResultSet } from './rows.js';
import { byPool, clientsTable, poolsTable, serversTable, statsTable, type ClientView, type PoolView, type ServerView, type StatsView } from './tables.js';

export interface ConsoleHost {
  /** The user may open the console (admin.users; authenticated as any client is). */
  isAdmin(user: string): boolean;
  show(what: Exclude<ShowTarget, 'help'>): ResultSet;
  /** Re-reads the config where it came from and applies it; rejects with the reason. */
  reload(): Promise<void>;
  /** See Pauses.pause. */
  pause(database: string | undefined): Promise<void>;
  /** Throws a ConsoleError when that is not paused. */
  resume(database: string | undefined): void;
  /** The server_version a backend reported, for the console's welcome. */
  serverVersion(): string | undefined;
}

/** What the server lends the console. */
export interface ConsoleSource {
  pools(): Iterable<PoolHandle>;
  sessions(): Iterable<ClientSession>;
  config(): ProxyConfig;
  maxConnections(h: PoolHandle): number;
  reload(): Promise<void>;
}

/** Counted per pool from its borrow events (pool/registry.ts, where pools are made), for SHOW STATS. */
export class PoolStats {
  borrows = 0;
  waitMs = 0;
  borrowTimeouts = 0;

  borrowed(waitMs: number): void {
    this.borrows++;
    this.waitMs += waitMs;
  }
}

const WAITING = new Set<string>([Mode.Waiting, Mode.Welcoming]);
/** Sessions that are not (or no longer) a client: before authentication, or the client is gone. */
const NOT_A_CLIENT = new Set<string>(['startup', 'authenticating', Mode.Draining, Mode.Closed]);

export class ServerConsole implements ConsoleHost {
  readonly pauses = new Pauses();

  constructor(
    private readonly src: ConsoleSource,
    private readonly now: () => number = Date.now,
  ) {}

  isAdmin(user: string): boolean {
    return this.src.config().admin.users.includes(user);
  }

  /** A new pool: paused if PAUSE for all or for its database is in effect. */
  adopt(h: PoolHandle): void {
    if (this.pauses.covers(h.database)) h.pool.pause();
  }

  show(what: Exclude<ShowTarget, 'help'>): ResultSet {
    switch (what) {
      case 'pools':
        return poolsTable(this.poolViews());
      case 'clients':
        return clientsTable(this.clientViews());
      case 'servers':
        return serversTable(this.serverViews());
      case 'stats':
        return statsTable(this.statsViews());
      case 'config':
        return configTable(this.src.config());
    }
  }

  reload(): Promise<void> {
    return this.src.reload();
  }

  pause(database: string | undefined): Promise<void> {
    return this.pauses.pause(database, this.src.pools());
  }

  resume(database: string | undefined): void {
    this.pauses.resume(database, this.src.pools());
  }

  serverVersion(): string | undefined {
    for (const h of this.src.pools()) {
      const v = h.serverParams?.get('server_version');
      if (v !== undefined) return v;
    }
    return undefined;
  }

  private clients(): ClientSession[] {
    return [...this.src.sessions()].filter((s) => !NOT_A_CLIENT.has(s.state));
  }

  poolViews(): PoolView[] {
    const counts = new Map<PoolHandle, { active: number; waiting: number }>();
    for (const s of this.clients()) {
      if (!s.handle) continue;
      const c = counts.get(s.handle) ?? { active: 0, waiting: 0 };
      if (WAITING.has(s.state)) c.waiting++;
      else c.active++;
      counts.set(s.handle, c);
    }
    const now = this.now();
    return byPool(
      [...this.src.pools()].map((h) => {
        const since = h.pool.oldestWaitSince;
        return {
          database: h.database,
          user: h.user,
          endpoint: h.endpoint,
          clActive: counts.get(h)?.active ?? 0,
          clWaiting: counts.get(h)?.waiting ?? 0,
          svActive: h.pool.busy.size,
          svIdle: h.pool.idle.length,
          svLogin: h.pool.openingCount,
          maxWaitMs: since === undefined ? 0 : now - since,
          paused: h.pool.paused,
          maxConnections: this.src.maxConnections(h),
        };
      }),
    );
  }

  clientViews(): ClientView[] {
    const now = this.now();
    return this.clients().map((s) => {
      const waiting = WAITING.has(s.state);
      const [addr, port] = splitAddress(s.remoteAddress);
      return {
        user: s.user,
        database: s.database,
        state: waiting ? 'waiting' : 'active',
        mode: s.state,
        addr,
        port,
        connectedAt: s.connectedAt,
        lastRequestAt: s.lastActive,
        // The proxy keeps no per-client queue time: a waiting client's wait began with its last message.
        waitMs: waiting ? now - s.lastActive : 0,
        tls: s.secure,
        applicationName: s.applicationName,
        link: s.backend?.id ?? null,
        pinned: s.pin?.reason ?? null,
        id: s.processId,
        endpoint: s.endpoint,
      };
    });
  }

  serverViews(): ServerView[] {
    const holders = new Map<BackendConnection, ClientSession>();
    for (const s of this.src.sessions()) if (s.backend) holders.set(s.backend, s);
    const out: ServerView[] = [];
    for (const h of this.src.pools()) {
      const view = (b: BackendConnection, state: ServerView['state']): ServerView => {
        const holder = holders.get(b);
        return {
          user: h.user,
          database: h.database,
          state,
          addr: b.target.host,
          port: b.target.port,
          connectedAt: b.openedAt,
          lastRequestAt: b.lastUsed,
          link: holder?.processId || null,
          remotePid: b.processId,
          closeNeeded: b.generation < h.pool.generation,
          applicationName: holder?.applicationName ?? '',
          id: b.id,
          generation: b.generation,
          endpoint: h.endpoint,
        };
      };
      for (const b of h.pool.busy) out.push(view(b, 'active'));
      for (const b of h.pool.idle) out.push(view(b, 'idle'));
    }
    return byPool(out);
  }

  statsViews(): StatsView[] {
    return byPool(
      [...this.src.pools()].map((h) => ({
        database: h.database,
        user: h.user,
        endpoint: h.endpoint,
        borrows: h.stats.borrows,
        waitMs: h.stats.waitMs,
        borrowTimeouts: h.stats.borrowTimeouts,
      })),
    );
  }
}

/** `addr:port` (IPv6 addresses have colons of their own) → [addr, port]. */
export function splitAddress(hostPort: string): [string, number] {
  const i = hostPort.lastIndexOf(':');
  return i < 0 ? [hostPort, 0] : [hostPort.slice(0, i), Number(hostPort.slice(i + 1)) || 0];
}
