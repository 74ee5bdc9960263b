/**
 * The proxy process: the PostgreSQL listener, the pools, the target, the admin server and config
 * reloads. It implements the context client sessions run in; sessions do the per-connection work.
 */
import { randomInt } from 'node:crypto';
import net from 'node:net';
import tls from 'node:tls';
import { readFileSync } from 'node:fs';
import type http from 'node:http';
import type { Logger } from 'pino';
import { serialize } from 'pg-protocol';
import { startAdminServer } from '../../contract/admin-http.js';
import { ProxyMetrics, type PoolSample } from './admin/metrics.js';
import { PoolStats, ServerConsole } from './admin/console/host.js';
import { UserStore } from './auth/users.js';
import { ConfigState } from './config/state.js';
import { openBackend, type BackendConnection, type Endpoint } from './backend/connection.js';
import type { PoolHandle, SessionContext, SqlDecision, UserCredentials } from './client/context.js';
import { SqlDecider } from './client/decide.js';
import { ClientSession } from './client/session.js';
import type { SetupFailure } from './client/setup-failure.js';
import { ConfigError } from '../../contract/config/load.js';
import type { ProxyConfig } from '../../contract/config/schema.js';
import { formatHostPort, parseHostPort } from '../../contract/config/schema.js';
import type { Conn, Mover } from './io/conn.js';
import { clientConn, resolveMover } from './io/movers.js';
import { onDispatchError } from './io/native-conn.js';
import { PermanentOpenError, Pool } from './pool/pool.js';
import type { Slot } from './pool/budget.js';
import { EndpointBudgets, poolLimits } from './pool/budgets.js';
import { Mode } from './session/state.js';
import { ReaderRouting } from '../../contract/health/readers.js';
import { TargetOwner, type Flip } from './health/target.js';

const CONNECT_TIMEOUT_MS = 10_000;
const SWEEP_INTERVAL_MS = 1_000;
/** Idle database connections above maxIdleConnections close after this long unused. */
const IDLE_TRIM_MS = 10_000;

export class ProxyServer implements SessionContext {
  readonly metrics: ProxyMetrics;
  private config: ProxyConfig;
  private readonly pools = new Map<string, PoolHandle>();
  private readonly sessions = new Set<ClientSession>();
  private readonly byProcessId = new Map<number, { session: ClientSession; secretKey: number }>();
  private nextProcessId = randomInt(1_000, 1_000_000);
  private listener: net.Server | undefined;
  private readerListener: net.Server | undefined;
  /** Where the read-only endpoint's pools connect. */
  private readonly readers: ReaderRouting;
  private admin: http.Server | undefined;
  private sweeper: NodeJS.Timeout | undefined;
  /** The writer new database connections go to, and its generation. */
  private readonly targets = new TargetOwner();
  /** Each endpoint's per-pod connection budget, shared by its pools (pool/budget.ts). */
  private readonly budgets: EndpointBudgets;
  /** The admin console's view of the server (SHOW …, PAUSE, RESUME, RELOAD). */
  readonly console: ServerConsole = new ServerConsole({
    pools: () => this.pools.values(),
    sessions: () => this.sessions,
    config: () => this.config,
    maxConnections: (h) => this.poolLimits(h.endpoint).maxConnections,
    reload: () => this.reload(),
  });
  /**
   * Where RELOAD re-reads the config (main.ts sets it: the config file, or the config Secret); unset
   * when the proxy runs from flags.
   */
  reloadSource: (() => Promise<ProxyConfig>) | undefined;
  /** Which config runs, by its source's version, and the last refusal: the admin server's /config. */
  readonly configState = new ConfigState();
  private draining = false;
  private tlsContext: tls.SecureContext | undefined;
  private decider: SqlDecider;
  private userStore: UserStore;
  /** The mover for plaintext connections (TLS client connections always use Node's sockets). */
  readonly mover: Mover;

  constructor(
    config: ProxyConfig,
    readonly log: Logger,
    /** Overrides the listen hosts (a pod binds its own IP: `--bind-host $(POD_IP)`). */
    private readonly bindHost?: string,
  ) {
    this.config = config;
    this.budgets = new EndpointBudgets(config);
    this.decider = new SqlDecider(new Set(config.pool.sessionPinningFilters));
    this.userStore = new UserStore(config.auth.users);
    this.tlsContext = loadTls(config);
    const io = resolveMover(config.io);
    this.mover = io.mover;
    if (io.note) log.warn(io.note);
    onDispatchError((err) => {
      this.log.error({ err }, 'a connection handler failed; that connection was closed');
      this.metrics.sessionErrors.inc({ kind: 'internal' });
    });
    this.metrics = new ProxyMetrics({
      clientConnections: () => this.sessions.size,
      clientConnectionsNoTls: () => this.plaintextCount(),
      pools: () => this.poolSamples(),
      targetAvailability: () => ({ writer: this.target !== undefined, ...(this.config.reader ? { reader: this.readers.endpoints.length > 0 } : {}) }),
      targetGeneration: () => this.generation,
      connectionsByMover: () => this.connectionsByMover(),
      connectionBudgets: () => this.budgets.snapshot(this.config.reader !== undefined),
    });
    this.targets.on('flip', (f) => this.onFlip(f));
    this.targets.on('lost', (why) => this.onTargetLost(why));
    this.readers = new ReaderRouting(config.reader?.whenNoReader ?? 'wait');
    this.targets.on('readers', (r) => {
      if (!this.config.reader?.targets && this.readers.setReaders(r)) this.moveReaderPools();
    });
    this.setStaticReaders(config);
    this.setTargets(config);
  }

  private get target(): Endpoint | undefined {
    return this.targets.target;
  }

  private get generation(): number {
    return this.targets.generation;
  }

  // ------------------------------------------------------------ lifecycle

  async start(): Promise<void> {
    this.listener = await this.listen(this.config.listen, 'writer');
    if (this.config.reader) this.readerListener = await this.listen(this.config.reader.listen, 'reader');
    const admin = parseHostPort(this.config.admin.listen);
    this.admin = await startAdminServer(this.bindHost ?? admin.host, admin.port, {
      registry: this.metrics.registry,
      ready: () => this.readiness(),
      status: () => this.status(),
      config: () => this.configState.snapshot(),
    });
    this.sweeper = setInterval(() => this.sweep(), SWEEP_INTERVAL_MS);
    this.sweeper.unref();
    this.log.info({ listen: this.address(), admin: this.adminAddress(), target: this.target, generation: this.generation, io: this.mover }, 'proxy listening');
  }

  private async listen(hostPort: string, endpoint: 'writer' | 'reader'): Promise<net.Server> {
    const at = parseHostPort(hostPort);
    // For the native core a new socket stays paused: the core takes its descriptor before any read.
    const server = net.createServer({ noDelay: true, pauseOnConnect: this.mover === 'native' }, (socket) => this.accept(socket, endpoint));
    server.maxConnections = 100_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: this.bindHost ?? at.host, port: at.port, backlog: 4096 }, () => resolve());
    });
    return server;
  }

  address(endpoint: 'writer' | 'reader' = 'writer'): string {
    const a = (endpoint === 'reader' ? this.readerListener : this.listener)?.address();
    return a && typeof a === 'object' ? `${a.address}:${a.port}` : '';
  }

  adminAddress(): string {
    const a = this.admin?.address();
    return a && typeof a === 'object' ? `${a.address}:${a.port}` : '';
  }

  /** Stops accepting, lets units of work finish (up to `graceMs`), then closes everything. */
  async shutdown(graceMs = 30_000): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    this.log.info({ clients: this.sessions.size }, 'shutting down: draining clients');
    this.listener?.close();
    this.readerListener?.close();
    this.targets.stop();
    for (const s of [...this.sessions]) s.closeWhenIdle();
    const deadline = Date.now() + graceMs;
    while (this.sessions.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    for (const s of [...this.sessions]) s.terminate();
    for (const h of this.pools.values()) h.pool.close();
    for (const h of this.pools.values()) for (const b of h.pool.busy) b.destroy();
    clearInterval(this.sweeper);
    await new Promise<void>((r) => (this.admin ? this.admin.close(() => r()) : r()));
    this.admin?.closeAllConnections?.();
    this.log.info('proxy stopped');
  }

  /** A changed config: pools, users, filters, TLS and target follow without dropping clients. */
  /** RELOAD: the config as its source says now, applied as a change of the file or Secret is. */
  async reload(): Promise<void> {
    if (!this.reloadSource) throw new Error('this proxy runs from command-line flags: there is no config file or Secret to re-read');
    try {
      this.applyConfig(await this.reloadSource());
    } catch (err) {
      // As a refused file or Secret is: the running config stays, /config says what was refused.
      this.configState.refused(err instanceof ConfigError ? err.problems : [(err as Error).message]);
      throw err;
    }
  }

  /** `version`: the source's version of `next` (the config Secret's resourceVersion), for /config. */
  applyConfig(next: ProxyConfig, version?: string): void {
    // First what can fail (unreadable certificate files): a refused config changes nothing.
    const tlsContext = loadTls(next);
    const prev = this.config;
    this.config = next;
    this.decider = new SqlDecider(new Set(next.pool.sessionPinningFilters));
    this.userStore = new UserStore(next.auth.users);
    this.tlsContext = tlsContext;
    for (const h of this.pools.values()) h.pool.setLimits(this.poolLimits(h.endpoint));
    this.budgets.apply(next);
    this.readers.whenNoReader = next.reader?.whenNoReader ?? 'wait';
    this.setStaticReaders(next);
    if (next.listen !== prev.listen || next.admin.listen !== prev.admin.listen || next.reader?.listen !== prev.reader?.listen) {
      this.log.warn('listen addresses changed in the config: restart the proxy for that to take effect');
    }
    if (next.io !== prev.io) this.log.warn({ io: next.io, running: this.mover }, 'io changed in the config: restart the proxy for that to take effect');
    this.setTargets(next);
    this.configState.applied(version);
    this.log.info({ target: this.target, generation: this.generation, ...(version !== undefined && { version }) }, 'config reloaded');
  }

  // ------------------------------------------------------------ targets and failover

  private setTargets(config: ProxyConfig): void {
    this.targets.apply({
      targets: config.targets,
      targetGeneration: config.targetGeneration ?? 0,
      healthCheck: config.healthCheck,
      probeUser: this.probeCredentials(),
    });
  }

  private onFlip(f: Flip): void {
    // Another writer: transactions still on the old one are lost either way, so end them now.
    for (const h of this.pools.values()) if (h.endpoint === 'writer') h.pool.setGeneration(f.generation, { abortBusy: f.moved });
    // Opens still in flight to the old server do not load the new one: their slots go to the pools' new opens.
    if (f.moved) this.budgets.writer.releaseOpensBefore(f.generation);
    if (this.readers.writerChanged()) this.moveReaderPools();
    if (!f.first) this.metrics.failovers.inc();
    this.log.info({ target: f.target, generation: f.generation }, f.first ? 'target set' : 'target changed: new connections go to the new writer');
  }

  private onTargetLost(why: string): void {
    this.log.warn({ reason: why }, 'no writer: borrowers queue until one is');
    for (const h of this.pools.values()) if (h.endpoint === 'writer') h.pool.hold(why);
    this.moveReaderPools();
  }

  /** Readers the config names (the operator's choice) replace the probed ones. */
  private setStaticReaders(config: ProxyConfig): void {
    const list = config.reader?.targets;
    if (list && this.readers.setReaders(list.map((t) => formatHostPort(t.host, t.port)))) this.moveReaderPools();
  }

  /** Reader pools follow the reader set: older connections retire; with nowhere to go, they wait. */
  private moveReaderPools(): void {
    const why = this.readers.holdReason(this.target);
    for (const h of this.pools.values()) {
      if (h.endpoint !== 'reader') continue;
      h.pool.setGeneration(this.readers.generation);
      if (why !== undefined) h.pool.hold(why);
    }
  }

  /** Health probes log in as the first user with a plaintext password (hashes cannot log in). */
  private probeCredentials(): UserCredentials {
    const first = this.config.auth.users.find((u) => this.userStore.lookup(u.username)?.kind === 'plaintext');
    if (first) return { username: first.username, password: first.password };
    return { username: process.env['PGUSER'] ?? 'postgres', password: process.env['PGPASSWORD'] ?? '' };
  }

  // ------------------------------------------------------------ SessionContext

  get maxMessageLength(): number {
    return this.config.maxMessageLength;
  }

  get authMethod(): 'trust' | 'md5' | 'scram' {
    return this.config.auth.method;
  }

  get tls(): tls.SecureContext | undefined {
    return this.tlsContext;
  }

  get requireTls(): boolean {
    return this.config.tls?.require ?? false;
  }

  get shuttingDown(): boolean {
    return this.draining;
  }

  get users(): UserStore {
    return this.userStore;
  }

  decide(sql: string): SqlDecision {
    return this.decider.decide(sql);
  }

  poolFor(database: string, user: string, endpoint: 'writer' | 'reader' = 'writer'): PoolHandle {
    const key = `${endpoint}\u0000${database}\u0000${user}`;
    let handle = this.pools.get(key);
    if (handle) return handle;
    const stats = new PoolStats();
    const metrics = this.metrics.forPool({ database, user, endpoint });
    const pool: Pool<BackendConnection> = new Pool<BackendConnection>(
      this.poolLimits(endpoint),
      {
        open: (generation, slot) => this.openBackendFor(handle!, generation, slot),
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
          if (!(err instanceof PermanentOpenError)) this.targets.suspect();
          this.log.warn({ database, user, err: err.message }, 'could not open a database connection');
        },
      },
    );
    const reader = endpoint === 'reader';
    pool.generation = reader ? this.readers.generation : this.generation;
    const why = reader ? this.readers.holdReason(this.target) : this.target ? undefined : 'no writer is available among the targets';
    if (why !== undefined) pool.hold(why);
    pool.joinBudget(this.budgets.of(endpoint), database, user);
    handle = { key, database, user, endpoint, pool, serverParams: undefined, stats, metrics };
    this.console.adopt(handle);
    this.pools.set(key, handle);
    return handle;
  }

  /** A pool's own limits (pool/budgets.ts): what the budget and its database's and user's limits leave it. */
  private poolLimits(endpoint: PoolHandle['endpoint']) {
    return poolLimits(this.config, endpoint);
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
    const target = handle.endpoint === 'reader' ? this.readers.target(this.target) : this.target;
    if (!target) throw new Error(handle.endpoint === 'reader' ? 'no reader is available among the targets' : 'no writer is available among the targets');
    const user = this.userStore.lookup(handle.user);
    const password = (request: 'cleartext' | 'md5' | 'scram') => (user ? user.backendPassword(request) : process.env['PGPASSWORD']);
    const backend = await openBackend({
      target,
      user: handle.user,
      database: handle.database,
      password,
      initQuery: this.config.pool.initQuery || undefined,
      connectTimeoutMs: CONNECT_TIMEOUT_MS,
      generation,
      mover: this.mover,
    });
    backend.conn.setHandlers({
      data: (chunk) => {
        if (backend.owner) return backend.owner.onBackendData(chunk);
        try {
          backend.scanner.scan(chunk);
          if (backend.stray) {
            this.log.warn({ backend: backend.id }, 'an idle database connection sent a reply nothing asked for: closing it');
            backend.destroy();
            handle.pool.remove(backend);
          }
        } catch (err) {
          // A malformed message from an idle server: that connection goes, nothing else.
          this.log.warn({ backend: backend.id, err: (err as Error).message }, 'closing a database connection that sent a malformed message');
          backend.destroy();
          handle.pool.remove(backend);
        }
      },
      close: (err) => {
        slot?.release(); // gone from the server too: its place in the budget is free
        if (err) this.log.debug({ backend: backend.id, err: err.message }, 'database connection error');
        // Closed by the server, not by the proxy: it may be shutting down or gone.
        if (!backend.closed) this.targets.suspect();
        backend.closed = true;
        backend.onClosed?.();
        if (backend.owner) backend.owner.onBackendLost(backend.abortReason ?? 'the server closed the connection');
        else handle.pool.remove(backend);
      },
    });
    return backend;
  }

  register(session: ClientSession): { processId: number; secretKey: number } {
    const processId = this.nextProcessId++;
    if (this.nextProcessId > 2_000_000_000) this.nextProcessId = 1_000;
    const secretKey = randomInt(-2_147_483_648, 2_147_483_647);
    this.byProcessId.set(processId, { session, secretKey });
    return { processId, secretKey };
  }

  unregister(processId: number): void {
    this.byProcessId.delete(processId);
  }

  /**
   * A CancelRequest: forwarded only while that client's own request runs on its backend, and the
   * backend does not change hands until the server has taken the cancel (PROTOCOL.md: a cancel
   * interrupts whatever runs when it arrives).
   */
  cancel(processId: number, secretKey: number): void {
    const entry = this.byProcessId.get(processId);
    if (!entry || entry.secretKey !== secretKey) return;
    const backend = entry.session.cancelTarget();
    if (!backend) return;
    backend.cancels++;
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      backend.cancels--;
      backend.owner?.onCancelDone?.(backend);
    };
    const socket = net.connect({ host: backend.target.host, port: backend.target.port });
    socket.on('connect', () => socket.end(serialize.cancel(backend.processId, backend.secretKey)));
    socket.on('error', (err) => this.log.warn({ err: err.message }, 'could not forward a cancel request'));
    socket.on('close', finish);
    socket.setTimeout(5_000, () => socket.destroy());
  }

  /** A writer that refuses writes may have been demoted (a switchover): probe the targets now. */
  onServerReadOnly(endpoint: 'writer' | 'reader'): void {
    if (endpoint === 'writer') this.targets.suspect();
  }

  onPin(reason: string, _rule: string, pool?: PoolHandle): void {
    pool?.metrics?.pinned(reason);
  }

  onSetupFailure(reason: SetupFailure): void {
    this.metrics.setupFailed(reason);
  }

  onClose(session: unknown): void {
    this.sessions.delete(session as ClientSession);
  }

  onSessionError(kind: string): void {
    this.metrics.sessionErrors.inc({ kind });
  }

  // ------------------------------------------------------------ connections

  private accept(socket: net.Socket, endpoint: 'writer' | 'reader'): void {
    if (this.draining) {
      socket.destroy();
      return;
    }
    socket.on('error', () => {});
    let conn: Conn;
    try {
      conn = clientConn(socket, this.mover);
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'could not take a client connection');
      socket.destroy();
      return;
    }
    const session = new ClientSession(conn, this, endpoint);
    this.sessions.add(session);
  }

  /** Idle clients past idleClientTimeout; half-open clients that never finish startup. */
  private sweep(): void {
    for (const h of this.pools.values()) h.pool.trimIdle(IDLE_TRIM_MS);
    const now = Date.now();
    const idleLimit = this.config.idleClientTimeout;
    for (const s of this.sessions) {
      const idle = now - s.lastActive;
      if (s.state === Mode.Idle && idleLimit > 0 && idle > idleLimit) s.idleTimeout();
      else if ((s.state === 'startup' || s.state === 'authenticating') && idle > CONNECT_TIMEOUT_MS * 6) {
        s.setupFailed('timeout');
        s.terminate();
      }
    }
  }

  private readiness(): { ok: boolean; reason?: string } {
    if (this.draining) return { ok: false, reason: 'shutting down' };
    if (!this.listener?.listening) return { ok: false, reason: 'not listening' };
    if (!this.target) return { ok: false, reason: 'no writer available' };
    return { ok: true };
  }

  private connectionCounts(): { idle: number; active: number; opening: number } {
    let idle = 0;
    let active = 0;
    let opening = 0;
    for (const h of this.pools.values()) {
      idle += h.pool.idle.length;
      active += h.pool.busy.size;
      opening += h.pool.openingCount;
    }
    return { idle, active, opening };
  }

  private connectionsByMover(): Record<'client' | 'backend', Record<Mover, number>> {
    const out = { client: { native: 0, node: 0 }, backend: { native: 0, node: 0 } };
    for (const s of this.sessions) out.client[s.conn.mover]++;
    for (const h of this.pools.values()) {
      for (const b of h.pool.idle) out.backend[b.conn.mover]++;
      for (const b of h.pool.busy) out.backend[b.conn.mover]++;
    }
    return out;
  }

  private plaintextCount(): number {
    let n = 0;
    for (const s of this.sessions) if (!s.secure) n++;
    return n;
  }

  /** Each pool for the metrics scrape, with its pinned connections counted from the sessions. */
  private poolSamples(): PoolSample[] {
    const pinned = new Map<PoolHandle, number>();
    for (const s of this.sessions) if (s.pin && s.backend && s.handle) pinned.set(s.handle, (pinned.get(s.handle) ?? 0) + 1);
    return [...this.pools.values()].map((h) => ({
      database: h.database,
      user: h.user,
      endpoint: h.endpoint,
      idle: h.pool.idle.length,
      active: h.pool.busy.size,
      opening: h.pool.openingCount,
      pinned: pinned.get(h) ?? 0,
      waiting: h.pool.waiting,
      maxConnections: this.poolLimits(h.endpoint).maxConnections,
    }));
  }

  status(): unknown {
    const byState: Record<string, number> = {};
    const pinned: unknown[] = [];
    for (const s of this.sessions) {
      byState[s.state] = (byState[s.state] ?? 0) + 1;
      if (s.pin) pinned.push(s.describe());
    }
    return {
      target: this.target ? formatHostPort(this.target.host, this.target.port) : null,
      targetGeneration: this.generation,
      io: { mover: this.mover, connections: this.connectionsByMover() },
      clients: { total: this.sessions.size, byState },
      databaseConnections: this.connectionCounts(),
      connectionBudget: this.budgets.status(this.pools.values(), this.config.reader !== undefined),
      readers: this.config.reader ? { listen: this.address('reader'), endpoints: this.readers.endpoints, whenNoReader: this.readers.whenNoReader } : null,
      pools: [...this.pools.values()].map((h) => ({
        endpoint: h.endpoint,
        database: h.database,
        user: h.user,
        size: h.pool.size,
        idle: h.pool.idle.length,
        active: h.pool.busy.size,
        opening: h.pool.openingCount,
        openingToOldTarget: h.pool.staleOpeningCount,
        waiting: h.pool.waiting,
        maxConnections: this.poolLimits(h.endpoint).maxConnections,
      })),
      pinnedSessions: pinned,
      targets: this.targets.snapshot(),
    };
  }
}

function loadTls(config: ProxyConfig): tls.SecureContext | undefined {
  const t = config.tls;
  if (!t?.certFile || !t.keyFile) return undefined;
  return tls.createSecureContext({ cert: readFileSync(t.certFile), key: readFileSync(t.keyFile) });
}
