/** The server's pools, one per (endpoint, database, user): made on first use, opening their database connections, following the writer and the readers. */
import type { Logger } from 'pino';
import { formatHostPort, type ProxyConfig } from '../../../contract/config/schema.js';
import { ReaderRouting } from '../../../contract/health/readers.js';
import { PoolStats } from '../admin/console/host.js';
import type { PoolLabels, PoolMetrics } from '../admin/metrics.js';
import type { UserStore } from '../auth/users.js';
import { openBackend, type BackendConnection } from '../backend/connection.js';
import { TLS_REFUSED } from '../backend/secure.js';
import { backendTlsOf } from '../backend/tls-settings.js';
import type { PoolHandle } from '../client/context.js';
import type { Flip, TargetOwner } from '../health/target.js';
import type { Mover } from '../io/conn.js';
import type { Slot } from './budget.js';
import { EndpointBudgets, poolLimits, type Endpoint } from './budgets.js';
import { PermanentOpenError, Pool } from './pool.js';

/** How long opening a database connection may take; the server's half-open clients get a multiple of it. */
export const CONNECT_TIMEOUT_MS = 10_000;

/** What the registry reads from the server: config and users as they are at each call (reloads replace them). */
export interface PoolRegistryDeps {
  readonly log: Logger;
  readonly mover: Mover;
  /** The writer new database connections go to, and its generation. */
  readonly targets: TargetOwner;
  config(): ProxyConfig;
  users(): UserStore;
  /** A new pool's Prometheus series (ProxyMetrics.forPool). */
  forPool(labels: PoolLabels): PoolMetrics;
  /** A new pool, before its first borrow (the admin console pauses it while PAUSE covers its database). */
  adopt(handle: PoolHandle): void;
}

export class PoolRegistry implements Iterable<PoolHandle> {
  /** Each endpoint's per-pod connection budget, shared by its pools (pool/budget.ts). */
  readonly budgets: EndpointBudgets;
  /** Where the read-only endpoint's pools connect. */
  readonly readers: ReaderRouting;
  private readonly pools = new Map<string, PoolHandle>();

  constructor(private readonly deps: PoolRegistryDeps) {
    const config = deps.config();
    this.budgets = new EndpointBudgets(config);
    this.readers = new ReaderRouting(config.reader?.whenNoReader ?? 'wait');
    this.setStaticReaders(config);
  }

  [Symbol.iterator](): IterableIterator<PoolHandle> {
    return this.pools.values();
  }

  poolFor(database: string, user: string, endpoint: Endpoint): PoolHandle {
    const key = `${endpoint}\u0000${database}\u0000${user}`;
    return this.pools.get(key) ?? this.create(key, database, user, endpoint);
  }

  /** The most database connections a pool of `endpoint` may open now (the budget, or its database's or user's limit). */
  maxConnections(endpoint: Endpoint): number {
    return this.limits(endpoint).maxConnections;
  }

  /** A reloaded config: each pool's limits, the budgets and the reader endpoint's settings follow it. */
  applyConfig(next: ProxyConfig): void {
    for (const h of this.pools.values()) h.pool.setLimits(poolLimits(next, h.endpoint));
    this.budgets.apply(next);
    this.readers.whenNoReader = next.reader?.whenNoReader ?? 'wait';
    this.setStaticReaders(next);
  }

  /** The readers the health probes found; readers the config names win over them. */
  setProbedReaders(endpoints: readonly string[]): void {
    if (!this.deps.config().reader?.targets && this.readers.setReaders(endpoints)) this.moveReaders();
  }

  /** A flip: writer pools move to its generation (what still runs on a writer that moved ends); reader pools falling back to the writer follow. */
  onFlip(f: Flip): void {
    // Another writer: transactions still on the old one are lost either way, so end them now.
    for (const h of this.pools.values()) if (h.endpoint === 'writer') h.pool.setGeneration(f.generation, { abortBusy: f.moved });
    // Opens still in flight to the old server do not load the new one: their slots go to the pools' new opens.
    if (f.moved) this.budgets.writer.releaseOpensBefore(f.generation);
    if (this.readers.writerChanged()) this.moveReaders();
  }

  /** No writer: writer pools queue their borrowers until one is; reader pools falling back to it wait too. */
  onWriterLost(why: string): void {
    for (const h of this.pools.values()) if (h.endpoint === 'writer') h.pool.hold(why);
    this.moveReaders();
  }

  trimIdle(unusedMs: number): void {
    for (const h of this.pools.values()) h.pool.trimIdle(unusedMs);
  }

  /** Shutdown: waiting borrowers fail, idle connections close, borrowed ones are destroyed. */
  close(): void {
    for (const h of this.pools.values()) h.pool.close();
    for (const h of this.pools.values()) for (const b of h.pool.busy) b.destroy();
  }

  /** Readers the config names (the operator's choice) replace the probed ones. */
  private setStaticReaders(config: ProxyConfig): void {
    const list = config.reader?.targets;
    if (list && this.readers.setReaders(list.map((t) => formatHostPort(t.host, t.port)))) this.moveReaders();
  }

  /** Reader pools follow the reader set: older connections retire; with nowhere to go, they wait. */
  private moveReaders(): void {
    const why = this.readers.holdReason(this.deps.targets.target);
    for (const h of this.pools.values()) {
      if (h.endpoint !== 'reader') continue;
      h.pool.setGeneration(this.readers.generation);
      if (why !== undefined) h.pool.hold(why);
    }
  }

  /** A pool's own limits (pool/budgets.ts): what the budget and its database's and user's limits leave it. */
  private limits(endpoint: Endpoint) {
    return poolLimits(this.deps.config(), endpoint);
  }

  private create(key: string, database: string, user: string, endpoint: Endpoint): PoolHandle {
    const { log, targets } = this.deps;
    const readers = this.readers;
    const stats = new PoolStats();
    const metrics = this.deps.forPool({ database, user, endpoint });
    const pool: Pool<BackendConnection> = new Pool<BackendConnection>(
      this.limits(endpoint),
      {
        open: (generation, slot) => this.openBackendFor(handle, generation, slot),
        close: (b) => b.destroy(),
        abort: (b) => b.abort('the writer changed (failover)'),
      },
      {
        borrowed: (ms) => {
          stats.borrowed(ms);
          metrics.borrowLatency.observe(ms / 1000);
        },
        borrowTimedOut: () => {
          stats.borrowTimeouts++;
          metrics.borrowTimedOut();
        },
        openFailed: (err) => {
          metrics.openFailed(err.name);
          // A refused or failed connect may be the writer going away: probe the targets now.
          if (!(err instanceof PermanentOpenError)) targets.suspect();
          log.warn({ database, user, err: err.message }, 'could not open a database connection');
        },
      },
    );
    const reader = endpoint === 'reader';
    pool.generation = reader ? readers.generation : targets.generation;
    const why = reader ? readers.holdReason(targets.target) : targets.target ? undefined : 'no writer is available among the targets';
    if (why !== undefined) pool.hold(why);
    pool.joinBudget(this.budgets.of(endpoint), database, user);
    const handle: PoolHandle = { key, database, user, endpoint, pool, serverParams: undefined, stats, metrics };
    this.deps.adopt(handle);
    this.pools.set(key, handle);
    return handle;
  }

  /** `slot` (the budget's) is given back when the open fails, or later when the connection is gone. */
  private openBackendFor(handle: PoolHandle, generation: number, slot: Slot | undefined): Promise<BackendConnection> {
    return this.connectBackend(handle, generation, slot).then(
      (backend) => {
        slot?.opened();
        return backend;
      },
      (err: unknown) => {
        slot?.release();
        throw err;
      },
    );
  }

  private async connectBackend(handle: PoolHandle, generation: number, slot: Slot | undefined): Promise<BackendConnection> {
    const { log, targets } = this.deps;
    const readers = this.readers;
    const target = handle.endpoint === 'reader' ? readers.target(targets.target) : targets.target;
    if (!target) throw new Error(handle.endpoint === 'reader' ? 'no reader is available among the targets' : 'no writer is available among the targets');
    const user = this.deps.users().lookup(handle.user);
    const password = (request: 'cleartext' | 'md5' | 'scram') => (user ? user.backendPassword(request) : process.env['PGPASSWORD']);
    const backend = await openBackend({
      target,
      user: handle.user,
      database: handle.database,
      password,
      initQuery: this.deps.config().pool.initQuery || undefined,
      connectTimeoutMs: CONNECT_TIMEOUT_MS,
      generation,
      mover: this.deps.mover,
      tls: backendTlsFor(this.deps.config()),
    });
    backend.conn.setHandlers({
      data: (chunk) => {
        if (backend.owner) return backend.owner.onBackendData(chunk);
        if (backend.closed) return; // closing already (Terminate sent): what still comes is not read
        try {
          backend.scanner.scan(chunk);
          if (backend.stray) {
            log.warn({ backend: backend.id, type: backend.strayType }, 'an idle database connection sent a reply nothing asked for: closing it');
            backend.destroy();
            handle.pool.remove(backend);
          }
        } catch (err) {
          // A malformed message from an idle server: that connection goes, nothing else.
          log.warn({ backend: backend.id, err: (err as Error).message }, 'closing a database connection that sent a malformed message');
          backend.destroy();
          handle.pool.remove(backend);
        }
      },
      close: (err) => {
        slot?.release(); // gone from the server too: its place in the budget is free
        if (err) log.debug({ backend: backend.id, err: err.message }, 'database connection error');
        // Closed by the server, not by the proxy: it may be shutting down or gone.
        if (!backend.closed) targets.suspect();
        backend.closed = true;
        backend.onClosed?.();
        if (backend.owner) backend.owner.onBackendLost(backend.abortReason ?? 'the server closed the connection');
        else handle.pool.remove(backend);
      },
    });
    return backend;
  }
}

/** The backend TLS settings now; an unreadable CA fails the open for good, with the file's problem. */
function backendTlsFor(config: ProxyConfig) {
  try {
    return backendTlsOf(config.backendTls);
  } catch (err) {
    throw new PermanentOpenError((err as Error).message, TLS_REFUSED);
  }
}
