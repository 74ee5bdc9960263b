/**
 * One client connection: the only place where sockets meet the session machine. It frames and
 * decodes the client's bytes, runs the handshake, feeds events to the machine and carries out its
 * effects; any exception on one connection's path ends that connection only.
 */
import type tls from 'node:tls';
import { AdminConsole, CONSOLE_DATABASE, consoleRefusal } from '../admin/console/console.js';
import type { BackendConnection } from '../backend/connection.js';
import type { Conn, ConnHandlers } from '../io/conn.js';
import { NodeConn } from '../io/node-conn.js';
import { ClientFramer } from '../protocol/framer.js';
import { authenticationOk, errorResponse, type ErrorInfo } from '../protocol/messages.js';
import { decodeFrontend } from '../session/frontend.js';
import { SessionMachine, type SessionIO } from '../session/machine.js';
import { ADMIN_SHUTDOWN } from '../session/replies.js';
import { Mode } from '../session/state.js';
import type { PoolHandle, SessionContext } from './context.js';
import { BackendSide, type SessionLink } from './backend-side.js';
import { endAfterError } from './containment.js';
import { Effects } from './effects.js';
import { Flow } from './flow.js';
import { peerOf, upgradeToTls } from '../tls/client-tls.js';
import type { LimitReason } from './limits.js';
import { openMachine } from './login.js';
import { SetupWatch } from './setup-watch.js';
import { StartupPhase, welcomeMessages, type StartupOwner } from './startup.js';

const DRAIN_TIMEOUT_MS = 5_000;
/**
 * The longest message a client may send before it is authenticated (PostgreSQL's
 * PG_MAX_AUTH_TOKEN_LENGTH): maxMessageLength applies only after, so a client without credentials
 * cannot make the proxy hold megabytes for it.
 */
export const AUTH_MESSAGE_LIMIT = 65_535;
/**
 * Past this much waiting for a backend (the borrow queue), the client is not read until its
 * messages have gone: a client that pipelines without end while it queues cannot grow the proxy.
 */
export const QUEUE_LIMIT = 1 << 20;

export class ClientSession extends SetupWatch implements SessionLink, ConnHandlers {
  conn: Conn;
  /** The connection runs over TLS. */
  secure = false;
  /** The TLS socket after the upgrade: its client certificate is checked at startup. */
  private tlsSocket: tls.TLSSocket | undefined;
  user = '';
  database = '';
  applicationName = '';
  processId = 0;
  lastActive = Date.now();
  readonly connectedAt = Date.now();
  /** The connection accepted (a TLS upgrade replaces `conn`): where the client is. */
  private readonly origin: Conn;
  machine: SessionMachine<BackendConnection> | undefined;
  /** Set instead of the machine for a client of the admin console (the virtual database). */
  console: AdminConsole | undefined;

  private readonly framer: ClientFramer;
  /** The handshake, until the client is authenticated (then dropped: idle clients stay small). */
  private startup: StartupPhase | undefined;
  handle: PoolHandle | undefined;
  private startupParams: ReadonlyMap<string, string> = NO_PARAMS;
  readonly flow = new Flow();
  /** The session's side toward its backend (the pool's waiter, the backend's owner). */
  readonly side: BackendSide = new BackendSide(this);
  /** The client's socket is closed, or closing. */
  ended = false;
  private drainTimer: NodeJS.Timeout | undefined;
  private closeTimer: NodeJS.Timeout | undefined;

  constructor(
    conn: Conn,
    readonly ctx: SessionContext,
    /** Which listener the client came in on: the writer's or the read-only endpoint. */
    readonly endpoint: 'writer' | 'reader' = 'writer',
    /** Past limits.maxClientConnections: the error its StartupMessage gets (client/limits.ts). */
    refusal?: ErrorInfo,
  ) {
    super();
    this.conn = conn;
    this.origin = conn;
    this.framer = new ClientFramer(Math.min(ctx.maxMessageLength, AUTH_MESSAGE_LIMIT));
    this.startup = new StartupPhase(ctx, this.framer, this.startupOwner());
    this.startup.refusal = refusal;
    this.attach(conn);
    this.armSetupTimer('startup_timeout', ctx.limits.startupTimeout);
  }

  protected onSetupTimeout(reason: LimitReason): void {
    this.guard(() => this.setupTimedOut(reason));
  }

  /** As PostgreSQL past authentication_timeout: the connection closes, the client is told nothing. */
  private setupTimedOut(reason: LimitReason): void {
    if (this.ended || this.startup === undefined) return;
    this.ctx.log.info({ client: this.remoteAddress, reason }, 'closing a client that did not finish its startup in time');
    this.ctx.onLimit(reason);
    this.setupFailed('timeout');
    this.closeSocket();
  }

  /** Made when asked (logs, SHOW CLIENTS): not kept as a string by every idle client. */
  get remoteAddress(): string {
    return `${this.origin.remoteAddress}:${this.origin.remotePort}`;
  }

  /** For the server: the handshake phase, then the machine's mode. */
  get state(): string {
    return this.machine?.mode ?? (this.console ? 'admin' : (this.startup?.phase ?? 'closed'));
  }

  get backend(): BackendConnection | undefined {
    return this.machine?.backend;
  }

  get pin(): { reason: string; rule: string } | undefined {
    return this.machine?.pin;
  }

  // ---------------------------------------------------------------- client side

  private attach(conn: Conn): void {
    conn.setHandlers(this);
  }

  /** ConnHandlers: bytes from the client. */
  data(chunk: Buffer): void {
    this.lastActive = Date.now();
    // guard() written out: no closure made for every read.
    try {
      this.framer.push(chunk, this);
      this.startup?.afterChunk();
      this.afterEvent();
    } catch (err) {
      this.failed(err);
    }
  }

  /** MessageSink: one whole message from the client. */
  onMessage(buf: Buffer, start: number, end: number): void {
    if (this.console !== undefined) return this.console.onMessage(buf, start, end);
    if (this.machine === undefined) return this.startup?.onMessage(buf, start, end);
    this.machine.onClientMessage(decodeFrontend(buf, start, end));
  }

  /** The startup phase's callbacks (they go with it). */
  private startupOwner(): StartupOwner {
    return {
      conn: () => this.conn,
      secure: () => this.secure,
      peer: () => (this.tlsSocket ? peerOf(this.tlsSocket) : undefined),
      closed: () => this.ended,
      upgradeToTls: (context) => {
        // Asked for, a client certificate is checked at startup (handshake.ts), where the client is told why.
        const secure = upgradeToTls(this.conn, context, this.ctx.clientCertificates !== 'none');
        this.tlsSocket = secure;
        secure.once('error', () => this.setupFailed('tls')); // counts only before the welcome
        this.conn = new NodeConn(secure);
        this.secure = true;
        this.attach(this.conn);
      },
      closeSocket: (fatal) => this.closeSocket(fatal),
      setupFailed: (reason) => this.setupFailed(reason),
      authenticating: () => this.armSetupTimer('authentication_timeout', this.ctx.limits.authenticationTimeout),
      authenticated: (user, database, params, prefix) => this.onAuthenticated(user, database, params, prefix),
    };
  }

  private onAuthenticated(user: string, database: string, params: Map<string, string>, prefix?: Buffer): void {
    const refused = this.countLogin(user);
    if (refused) {
      this.ctx.log.info({ client: this.remoteAddress, user }, 'refused a client: limits.maxClientConnectionsPerUser');
      this.ctx.onLimit('max_client_connections_per_user');
      this.setupFailed('limits');
      return this.closeSocket(refused);
    }
    this.framer.maxLength = this.ctx.maxMessageLength;
    if (database === CONSOLE_DATABASE) return this.openConsole(user, params, prefix);
    this.user = user;
    this.database = database;
    this.startupParams = params;
    this.applicationName = params.get('application_name') ?? '';
    this.handle = this.ctx.poolFor(database, user, this.endpoint);
    const machine = openMachine(params, this.ctx, this.io, this.handle.serverParams === undefined);
    if (!(machine instanceof SessionMachine)) {
      this.setupFailed('unsupported');
      return this.closeSocket(machine);
    }
    this.machine = machine;
    this.startup = undefined;
    const ok = handshakeEnd(prefix);
    // The pool knows what its server reports: the whole welcome goes in one write.
    if (this.handle.serverParams) return this.welcome(this.handle.serverParams, ok);
    for (const b of ok) this.conn.write(b);
    // The first client of a pool waits for one backend, to learn what the server reports.
    this.handle.pool.acquire(this.side);
  }

  /** The virtual database: the admin console instead of a pool, for admin users only. */
  private openConsole(user: string, params: Map<string, string>, prefix?: Buffer): void {
    const refused = consoleRefusal(this.ctx.console, user);
    if (refused) {
      this.setupFailed('auth');
      return this.closeSocket(refused);
    }
    this.setupSucceeded();
    this.user = user;
    this.database = CONSOLE_DATABASE;
    this.applicationName = params.get('application_name') ?? '';
    this.startup = undefined;
    const keys = this.ctx.register(this);
    this.processId = keys.processId;
    this.console = new AdminConsole(this.ctx.console, this);
    this.conn.write(Buffer.concat([...handshakeEnd(prefix), this.console.welcome(params, keys)]));
  }

  /** The welcome, after `before` (what the handshake still had to say, when it is sent together). */
  welcome(server: ReadonlyMap<string, string>, before?: readonly Buffer[]): void {
    this.setupSucceeded();
    this.handle!.serverParams ??= server;
    const keys = this.ctx.register(this);
    this.processId = keys.processId;
    this.conn.write(welcomeMessages(server, this.startupParams, keys, before));
    this.startupParams = NO_PARAMS;
  }

  /** ConnHandlers: the client's connection is gone. */
  close(): void {
    clearTimeout(this.closeTimer);
    this.ended = true;
    // A client that is gone holds nothing back: its backend reads again (its replies are drained).
    this.flow.resume();
    if (this.machine) this.guard(() => this.machine!.onClientGone());
    // The machine may still drain the backend; the client itself is gone either way.
    this.closeSocket();
  }

  // ---------------------------------------------------------------- the machine's effects

  private readonly io: SessionIO<BackendConnection> = new Effects(this);

  /** For the server's cancel: the backend running this client's request, if one runs now. */
  cancelTarget(): BackendConnection | undefined {
    // A console session has no backend: a cancel stops the PAUSE it waits on.
    if (this.console) this.guard(() => this.console!.cancel());
    return this.machine?.cancelTarget();
  }

  // ---------------------------------------------------------------- ending

  /** Graceful shutdown: close now if idle, else after the current unit of work. */
  closeWhenIdle(): void {
    if (this.machine) this.guard(() => this.machine!.closeWhenIdle());
    else this.closeSocket(ADMIN_SHUTDOWN);
  }

  idleTimeout(): void {
    this.guard(() =>
      this.machine!.end({ severity: 'FATAL', code: '57P05', message: 'terminating connection due to idle-session timeout (idleClientTimeout)' }),
    );
  }

  /** Ends the client's side now (the machine, if any, drains its backend). */
  terminate(): void {
    if (this.machine) this.guard(() => this.machine!.end());
    else this.closeSocket();
  }

  /**
   * Runs one event for this session; whatever it throws ends this session only. A malformed server
   * message (`from` the backend) ends that backend too.
   */
  guard(f: () => void, from?: BackendConnection): void {
    try {
      f();
      this.afterEvent();
    } catch (err) {
      this.failed(err, from);
    }
  }

  /** After each event: what it queued for the backend goes out; the client's reading follows the queue. */
  afterEvent(): void {
    this.flow.flush(this.ended ? undefined : this.conn);
    if (this.machine !== undefined) this.flow.queueFull(this.conn, !this.ended && this.machine.queuedBytes() > QUEUE_LIMIT);
    this.armDrainTimer();
  }

  /** An event threw: this session ends (and `from`, a backend that sent a malformed message). */
  failed(err: unknown, from?: BackendConnection): void {
    endAfterError(this, err, from);
  }

  private armDrainTimer(): void {
    // A client that sent Terminate waits for its replies as long as PostgreSQL would make it.
    if (this.machine?.mode !== Mode.Draining || this.machine.awaitingReplies || this.drainTimer) return;
    this.drainTimer = setTimeout(() => this.guard(() => this.machine!.onDrainTimeout()), DRAIN_TIMEOUT_MS);
    this.drainTimer.unref();
  }

  closeSocket(fatal?: ErrorInfo): void {
    if (this.processId) this.ctx.unregister(this.processId);
    this.processId = 0;
    this.setupClosed();
    this.ctx.onClose(this);
    const conn = this.conn;
    if (this.ended || conn.destroyed) return;
    this.ended = true;
    // What is on its way out (a final error among it) flushes first; the socket goes in any case.
    conn.end(fatal ? errorResponse(fatal) : undefined);
    this.closeTimer = setTimeout(() => conn.destroy(), 2_000);
    this.closeTimer.unref();
  }

  /** For /status. */
  describe(): Record<string, unknown> {
    return {
      client: this.remoteAddress,
      user: this.user,
      database: this.database,
      applicationName: this.applicationName,
      state: this.state,
      pinned: this.pin ?? null,
      backend: this.backend?.id ?? null,
      idleSeconds: Math.round((Date.now() - this.lastActive) / 1000),
      io: this.conn.mover,
      endpoint: this.endpoint,
    };
  }
}

const NO_PARAMS: ReadonlyMap<string, string> = new Map();

/** The handshake's last messages: what it still had to say (SASL's final message), then AuthenticationOk. */
const handshakeEnd = (prefix: Buffer | undefined): Buffer[] => (prefix ? [prefix, authenticationOk()] : [authenticationOk()]);
