/** The server's read-only views, for /status and the metrics scrape: counts over its client sessions and pools, computed when asked. */
import { formatHostPort } from '../../contract/config/schema.js';
import type { MetricsSource, PoolSample } from './admin/metrics.js';
import type { PoolHandle } from './client/context.js';
import type { ClientSession } from './client/session.js';
import type { TargetOwner } from './health/target.js';
import type { Mover } from './io/conn.js';
import type { PoolRegistry } from './pool/registry.js';
import type { DrainPhase } from './drain.js';

/** What the views read, lent by the server: its own objects, so a view always sees them as they are now. */
export interface ServerView {
  readonly sessions: ReadonlySet<ClientSession>;
  /** The shutdown's phase (drain.ts); `serving` until the stop signal. */
  drainPhase(): DrainPhase;
  /** The client leg's serving certificate (tls/reloader.ts), null without TLS. */
  tls?(): unknown;
  tlsNotAfter?(): number | undefined;
  readonly pools: PoolRegistry;
  readonly targets: TargetOwner;
  /** The mover of plaintext connections. */
  readonly mover: Mover;
  /** The config has a reader endpoint. */
  hasReader(): boolean;
  /** The reader endpoint's listen address ('' before it listens). */
  readerAddress(): string;
}

/** GET /status. */
export function serverStatus(v: ServerView): unknown {
  const byState: Record<string, number> = {};
  const pinned: unknown[] = [];
  for (const s of v.sessions) {
    byState[s.state] = (byState[s.state] ?? 0) + 1;
    if (s.pin) pinned.push(s.describe());
  }
  const target = v.targets.target;
  return {
    target: target ? formatHostPort(target.host, target.port) : null,
    shutdown: { phase: v.drainPhase() },
    tls: v.tls?.() ?? null,
    targetGeneration: v.targets.generation,
    io: { mover: v.mover, connections: connectionsByMover(v) },
    clients: { total: v.sessions.size, byState },
    databaseConnections: connectionCounts(v.pools),
    connectionBudget: v.pools.budgets.status(v.pools, v.hasReader()),
    readers: v.hasReader() ? { listen: v.readerAddress(), endpoints: v.pools.readers.endpoints, whenNoReader: v.pools.readers.whenNoReader } : null,
    pools: [...v.pools].map((h) => ({
      endpoint: h.endpoint,
      database: h.database,
      user: h.user,
      size: h.pool.size,
      idle: h.pool.idle.length,
      active: h.pool.busy.size,
      opening: h.pool.openingCount,
      openingToOldTarget: h.pool.staleOpeningCount,
      waiting: h.pool.waiting,
      maxConnections: v.pools.maxConnections(h.endpoint),
    })),
    pinnedSessions: pinned,
    targets: v.targets.snapshot(),
  };
}

/** What the metrics scrape reads (admin/metrics.ts): each gauge is computed when scraped. */
export function metricsSource(v: ServerView): MetricsSource {
  return {
    clientConnections: () => v.sessions.size,
    clientConnectionsNoTls: () => plaintextCount(v.sessions),
    pools: () => poolSamples(v),
    targetAvailability: () => ({ writer: v.targets.target !== undefined, ...(v.hasReader() ? { reader: v.pools.readers.endpoints.length > 0 } : {}) }),
    targetGeneration: () => v.targets.generation,
    connectionsByMover: () => connectionsByMover(v),
    connectionBudgets: () => v.pools.budgets.snapshot(v.hasReader()),
    draining: () => v.drainPhase() !== 'serving',
    tlsNotAfter: () => v.tlsNotAfter?.(),
  };
}

/** Each pool for the metrics scrape, with its pinned connections counted from the sessions. */
export function poolSamples(v: ServerView): PoolSample[] {
  const pinned = new Map<PoolHandle, number>();
  for (const s of v.sessions) if (s.pin && s.backend && s.handle) pinned.set(s.handle, (pinned.get(s.handle) ?? 0) + 1);
  return [...v.pools].map((h) => ({
    database: h.database,
    user: h.user,
    endpoint: h.endpoint,
    idle: h.pool.idle.length,
    active: h.pool.busy.size,
    opening: h.pool.openingCount,
    pinned: pinned.get(h) ?? 0,
    waiting: h.pool.waiting,
    maxConnections: v.pools.maxConnections(h.endpoint),
  }));
}

/** Database connections of all pools, by state. */
export function connectionCounts(pools: Iterable<PoolHandle>): { idle: number; active: number; opening: number } {
  let idle = 0;
  let active = 0;
  let opening = 0;
  for (const h of pools) {
    idle += h.pool.idle.length;
    active += h.pool.busy.size;
    opening += h.pool.openingCount;
  }
  return { idle, active, opening };
}

/** Open connections by leg (client, backend) and by the mover that carries their bytes. */
export function connectionsByMover(v: ServerView): Record<'client' | 'backend', Record<Mover, number>> {
  const out = { client: { native: 0, node: 0 }, backend: { native: 0, node: 0 } };
  for (const s of v.sessions) out.client[s.conn.mover]++;
  for (const h of v.pools) {
    for (const b of h.pool.idle) out.backend[b.conn.mover]++;
    for (const b of h.pool.busy) out.backend[b.conn.mover]++;
  }
  return out;
}

/** Client connections not (or not yet) upgraded to TLS. */
export function plaintextCount(sessions: Iterable<ClientSession>): number {
  let n = 0;
  for (const s of sessions) if (!s.secure) n++;
  return n;
}
