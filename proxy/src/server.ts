/**
 * The proxy process: the PostgreSQL listeners, the pools, the target, the admin server and config
 * reloads. It implements the context client sessions run in; sessions do the per-connection work.
 */
import type tls from 'node:tls';
import type http from 'node:http';
import type { Logger } from 'pino';
import { startAdminServer } from '../../contract/admin-http.js';
import { configuredStatusToken } from '../../contract/admin-auth.js';
import { ProxyMetrics } from './admin/metrics.js';
import { ServerConsole } from './admin/console/host.js';
import { UserStore } from './auth/users.js';
import { identityAuthFor, type IdentityAuth } from './auth/kube-identity.js';
import { ConfigState } from './config/state.js';
import { CancelKeys } from './client/cancel-keys.js';
import { Peering, type KubeAccess } from './peering/peering.js';
import type { PoolHandle, SessionContext, SqlDecision, UserCredentials } from './client/context.js';
import { SqlDecider } from './client/decide.js';
import { ClientLimits, type ClientLimitsConfig, type LimitReason } from './client/limits.js';
import type { ErrorInfo } from './protocol/messages.js';
import { ClientSession } from './client/session.js';
import type { SetupFailure } from './client/setup-failure.js';
import { ConfigError } from '../../contract/config/load.js';
import type { ProxyConfig } from '../../contract/config/schema.js';
import { parseHostPort } from '../../contract/config/schema.js';
import type { Conn, Mover } from './io/conn.js';
import { addressOf, listenPostgres, type Listener } from './io/listen.js';
import { resolveMover } from './io/movers.js';
import { onDispatchError } from './io/native-conn.js';
import { PoolRegistry } from './pool/registry.js';
import { Mode } from './session/state.js';
import { TargetOwner, type Flip } from './health/target.js';
import { metricsSource, serverStatus, type ServerView } from './server-status.js';
import { ClientTlsReloader } from './tls/reloader.js';
import type { ClientCertificates } from './tls/client-tls.js';
import { drainReadiness, refusesClients, type DrainAction } from './drain.js';
import { DrainRunner } from './drain-runner.js';

const SWEEP_INTERVAL_MS = 1_000;
/** Idle database connections above maxIdleConnections close after this long unused. */
const IDLE_TRIM_MS = 10_000;

export class ProxyServer implements SessionContext {
  readonly metrics: ProxyMetrics;
  private config: ProxyConfig;
  /** The pools, their database connections, the connection budgets they share and the reader routing. */
  private readonly pools: PoolRegistry;
  private readonly sessions = new Set<ClientSession>();
  private readonly cancels: CancelKeys;
  /** This proxy's peer id and the other proxies, for cancels of their clients (peering/). */
  private readonly peering: Peering;
  /** limits.maxClientConnections at accept, and the per-user counts (client/limits.ts). */
  private readonly clientLimits: ClientLimits;
  private listener: Listener | undefined;
  private readerListener: Listener | undefined;
  private admin: http.Server | undefined;
  private sweeper: NodeJS.Timeout | undefined;
  /** The writer new database connections go to, and its generation. */
  private readonly targets = new TargetOwner();
  /** What /status and the metrics read (server-status.ts). */
  private readonly view: ServerView;
  /** The admin console's view of the server (SHOW …, PAUSE, RESUME, RELOAD). */
  readonly console: ServerConsole = new ServerConsole({
    pools: () => this.pools,
    sessions: () => this.sessions,
    config: () => this.config,
    maxConnections: (h) => this.pools.maxConnections(h.endpoint),
    reload: () => this.reload(),
  });
  /**
   * Where RELOAD re-reads the config (main.ts sets it: the config file, or the config Secret); unset
   * when the proxy runs from flags.
   */
  reloadSource: (() => Promise<ProxyConfig>) | undefined;
  /** Which config runs, by its source's version, and the last refusal: the admin server's /config. */
  readonly configState = new ConfigState();
  /** The shutdown (drain.ts, drain-runner.ts): its phase is `serving` until the stop signal. */
  private readonly drainer: DrainRunner;
  /** The client leg's certificate, reloaded when its files change (tls/reloader.ts). */
  private readonly clientTls: ClientTlsReloader;
  private decider: SqlDecider;
  private userStore: UserStore;
  private identityAuth: IdentityAuth | undefined;
  /** The mover for plaintext connections (TLS client connections always use Node's sockets). */
  readonly mover: Mover;

  constructor(
    config: ProxyConfig,
    readonly log: Logger,
    /** Overrides the listen hosts (a pod binds its own IP: `--bind-host $(POD_IP)`). */
    private readonly bindHost?: string,
    /** Kubernetes mode: where peering.kubernetes lists the peers' EndpointSlices. */
    kube?: KubeAccess,
  ) {
    this.config = config;
    this.decider = new SqlDecider(new Set(config.pool.sessionPinningFilters));
    this.userStore = new UserStore(config.auth.users);
    this.identityAuth = identityAuthFor(config.auth.kubernetes, undefined, log);
    this.clientTls = new ClientTlsReloader({ log, onReload: (result) => this.metrics.tlsReloads.inc({ result }) });
    this.clientTls.apply(config.tls);
    const io = resolveMover(config.io);
    this.mover = io.mover;
    if (io.note) log.warn(io.note);
    onDispatchError((err) => {
      this.log.error({ err }, 'a connection handler failed; that connection was closed');
      this.metrics.sessionErrors.inc({ kind: 'internal' });
    });
    this.peering = new Peering(config.peering, {
      log,
      selfAddress: bindHost ?? process.env['POD_IP'],
      listenPort: parseHostPort(config.listen).port,
      kube,
    });
    this.cancels = new CancelKeys({
      log,
      peerId: this.peering.id,
      peers: () => this.peering.peers(),
      onResult: (result) => this.metrics.cancelRequests.inc({ result }),
    });
    this.drainer = new DrainRunner({ log, clients: () => this.sessions.size, act: (a) => this.drainAction(a), closeAdmin: () => this.closeAdmin() });
    this.clientLimits = new ClientLimits({
      config: () => this.config.limits,
      log,
      onLimit: (reason) => this.onLimit(reason),
      onSetupFailure: (reason) => this.onSetupFailure(reason),
    });
    this.pools = new PoolRegistry({
      log,
      mover: this.mover,
      targets: this.targets,
      config: () => this.config,
      users: () => this.userStore,
      forPool: (labels) => this.metrics.forPool(labels),
      adopt: (h) => this.console.adopt(h),
    });
    this.view = {
      sessions: this.sessions,
      pools: this.pools,
      targets: this.targets,
      mover: this.mover,
      hasReader: () => this.config.reader !== undefined,
      readerAddress: () => this.address('reader'),
      drainPhase: () => this.drainer.phase,
      tls: () => this.clientTls.status(),
      tlsNotAfter: () => this.clientTls.notAfterSeconds,
    };
    this.metrics = new ProxyMetrics(metricsSource(this.view));
    this.targets.on('flip', (f) => this.onFlip(f));
    this.targets.on('lost', (why) => this.onTargetLost(why));
    this.targets.on('readers', (r) => this.pools.setProbedReaders(r));
    this.setTargets(config);
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
      statusToken: () => configuredStatusToken(this.config.admin),
      trustLoopback: () => this.config.admin.trustLoopback,
      onTokenError: (err) => this.log.error({ err: err.message }, 'the admin status token cannot be read; /status refuses non-loopback requests'),
    });
    this.sweeper = setInterval(() => this.sweep(), SWEEP_INTERVAL_MS);
    this.sweeper.unref();
    this.log.info(
      { listen: this.address(), admin: this.adminAddress(), target: this.targets.target, generation: this.targets.generation, io: this.mover },
      'proxy listening',
    );
  }

  private listen(hostPort: string, endpoint: 'writer' | 'reader'): Promise<Listener> {
    const at = parseHostPort(hostPort);
    return listenPostgres(this.bindHost ?? at.host, at.port, this.mover, (conn) => this.accept(conn, endpoint));
  }

  address(endpoint: 'writer' | 'reader' = 'writer'): string {
    return (endpoint === 'reader' ? this.readerListener : this.listener)?.address ?? '';
  }

  adminAddress(): string {
    return addressOf(this.admin);
  }

  /**
   * The stop signal's drain (drain.ts): unready at once; after the delay the listeners close and idle
   * clients are told to reconnect (57P01) while the others finish their transactions; after the drain
   * timeout the rest are closed; then the pooled connections (Terminate). Overrides: `drainTimeoutMs`
   * and `delayMs` replace the config's shutdown.drainTimeout and shutdown.delay. Called again, it
   * returns the same drain.
   */
  shutdown(drainTimeoutMs?: number, delayMs?: number): Promise<void> {
    const s = this.config.shutdown;
    return this.drainer.start({ delayMs: delayMs ?? s.delay, drainTimeoutMs: drainTimeoutMs ?? s.drainTimeout });
  }

  private async closeAdmin(): Promise<void> {
    await new Promise<void>((r) => (this.admin ? this.admin.close(() => r()) : r()));
    this.admin?.closeAllConnections?.();
  }

  private drainAction(a: DrainAction): void {
    switch (a) {
      case 'closeListeners':
        this.listener?.close();
        this.readerListener?.close();
        return;
      case 'tellIdle':
        for (const s of [...this.sessions]) s.closeWhenIdle();
        return;
      case 'terminateRest':
        this.log.warn({ clients: this.sessions.size }, 'drain timeout: closing the clients still connected');
        for (const s of [...this.sessions]) s.terminate();
        return;
      case 'closePools':
        this.targets.stop();
        this.peering.stop();
        this.clientTls.close();
        this.pools.close();
        clearInterval(this.sweeper);
        return;
    }
  }

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

  /**
   * A changed config: pools, users, filters, TLS and target follow without dropping clients.
   * `version`: the source's version of `next` (the config Secret's resourceVersion), for /config.
   */
  applyConfig(next: ProxyConfig, version?: string): void {
    // First what can fail (unreadable certificate files): a refused config changes nothing.
    this.clientTls.apply(next.tls);
    const prev = this.config;
    this.config = next;
    this.decider = new SqlDecider(new Set(next.pool.sessionPinningFilters));
    this.userStore = new UserStore(next.auth.users);
    this.identityAuth = identityAuthFor(next.auth.kubernetes, this.identityAuth, this.log);
    this.pools.applyConfig(next);
    if (next.listen !== prev.listen || next.admin.listen !== prev.admin.listen || next.reader?.listen !== prev.reader?.listen) {
      this.log.warn('listen addresses changed in the config: restart the proxy for that to take effect');
    }
    if (next.io !== prev.io) this.log.warn({ io: next.io, running: this.mover }, 'io changed in the config: restart the proxy for that to take effect');
    this.setTargets(next);
    this.peering.apply(next.peering);
    this.configState.applied(version);
    this.log.info({ target: this.targets.target, generation: this.targets.generation, ...(version !== undefined && { version }) }, 'config reloaded');
  }

  // ------------------------------------------------------------ targets and failover

  private setTargets(config: ProxyConfig): void {
    this.targets.apply({
      targets: config.targets,
      targetGeneration: config.targetGeneration ?? 0,
      healthCheck: config.healthCheck,
      probeUser: this.probeCredentials(),
      backendTls: config.backendTls,
    });
  }

  private onFlip(f: Flip): void {
    this.pools.onFlip(f);
    if (!f.first) this.metrics.failovers.inc();
    this.log.info({ target: f.target, generation: f.generation }, f.first ? 'target set' : 'target changed: new connections go to the new writer');
  }

  private onTargetLost(why: string): void {
    this.log.warn({ reason: why }, 'no writer: borrowers queue until one is');
    this.pools.onWriterLost(why);
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
    return this.clientTls.context;
  }

  get clientCertificates(): ClientCertificates {
    return this.config.tls?.clientCertificates ?? 'none';
  }

  get requireTls(): boolean {
    return this.config.tls?.require ?? false;
  }

  get shuttingDown(): boolean {
    return refusesClients(this.drainer.phase);
  }

  get users(): UserStore {
    return this.userStore;
  }

  get identity(): IdentityAuth | undefined {
    return this.identityAuth;
  }

  decide(sql: string): SqlDecision {
    return this.decider.decide(sql);
  }

  poolFor(database: string, user: string, endpoint: 'writer' | 'reader' = 'writer'): PoolHandle {
    return this.pools.poolFor(database, user, endpoint);
  }

  register(session: ClientSession): { processId: number; secretKey: number } {
    return this.cancels.register(session);
  }

  unregister(processId: number): void {
    this.cancels.unregister(processId);
  }

  /** A CancelRequest (client/cancel-keys.ts): ours only while that client's own request runs; a peer's key goes to that peer. */
  cancel(processId: number, secretKey: number): void {
    this.cancels.cancel(processId, secretKey);
  }

  /** A writer that refuses writes may have been demoted (a switchover): probe the targets now. */
  onServerReadOnly(endpoint: 'writer' | 'reader'): void {
    if (endpoint === 'writer') this.targets.suspect();
  }

  onPin(reason: string, _rule: string, pool?: PoolHandle): void {
    pool?.metrics?.pinned(reason);
  }

  get limits(): ClientLimitsConfig {
    return this.config.limits;
  }

  userLogin(user: string): ErrorInfo | undefined {
    return this.clientLimits.userLogin(user);
  }

  userLogout(user: string): void {
    this.clientLimits.userLogout(user);
  }

  onLimit(reason: LimitReason): void {
    this.metrics.limitReached(reason);
  }

  onSetupFailure(reason: SetupFailure): void {
    this.metrics.setupFailed(reason);
  }

  onClose(session: unknown): void {
    this.sessions.delete(session as ClientSession);
    this.clientLimits.refusing.delete(session as ClientSession);
  }

  onSessionError(kind: string): void {
    this.metrics.sessionErrors.inc({ kind });
  }

  // ------------------------------------------------------------ connections

  private accept(conn: Conn, endpoint: 'writer' | 'reader'): void {
    if (refusesClients(this.drainer.phase)) {
      conn.destroy();
      return;
    }
    const refusal = this.clientLimits.admit(this.sessions.size, conn);
    if (refusal === 'refused') return;
    const session = new ClientSession(conn, this, endpoint, refusal);
    // Past maxClientConnections: refused at its StartupMessage, and not one of the clients.
    (refusal ? this.clientLimits.refusing : this.sessions).add(session);
  }

  /** Idle clients past idleClientTimeout (startup and authentication time out in the session: limits.*). */
  private sweep(): void {
    this.pools.trimIdle(IDLE_TRIM_MS);
    const now = Date.now();
    const idleLimit = this.config.idleClientTimeout;
    for (const s of this.sessions) {
      const idle = now - s.lastActive;
      if (s.state === Mode.Idle && idleLimit > 0 && idle > idleLimit) s.idleTimeout();
    }
  }

  private readiness(): { ok: boolean; reason?: string } {
    if (this.drainer.phase !== 'serving') return drainReadiness(this.drainer.phase);
    if (!this.listener?.listening) return { ok: false, reason: 'not listening' };
    if (!this.targets.target) return { ok: false, reason: 'no writer available' };
    return { ok: true };
  }

  status(): unknown {
    return serverStatus(this.view);
  }
}
