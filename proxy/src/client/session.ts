/**
 * One client connection: the only place where sockets meet the session machine. It frames and
 * decodes the client's bytes, runs the handshake, feeds events to the machine and carries out its
 * effects; any exception on one connection's path ends that connection only.
 */
import type net from 'node:net';
import tls from 'node:tls';
import { UNOWNED, type BackendConnection, type BackendOwner } from '../backend/connection.js';
import type { BorrowError, Waiter } from '../pool/pool.js';
import { ProtocolError } from '../protocol/errors.js';
import { ClientFramer, FrameMode } from '../protocol/framer.js';
import { authenticationOk, backendKeyData, errorResponse, parameterStatus, readyForQuery, type ErrorInfo } from '../protocol/messages.js';
import type { ServerMessageVisitor } from '../protocol/server-scanner.js';
import { decodeFrontend, FRONTEND_TYPES } from '../session/frontend.js';
import { SessionMachine, type SessionIO } from '../session/machine.js';
import { StartupOptionsError } from '../session/params.js';
import { Mode } from '../session/state.js';
import type { PoolHandle, SessionContext } from './context.js';
import { Handshake, type HandshakeStep } from './handshake.js';

/** Parameters PostgreSQL reports to clients; a client's own value wins over the pool's. */
const REPORTED = ['application_name', 'client_encoding', 'DateStyle', 'IntervalStyle', 'TimeZone'];
const DRAIN_TIMEOUT_MS = 5_000;

type Phase = 'startup' | 'authenticating';

export class ClientSession implements Waiter<BackendConnection>, BackendOwner, ServerMessageVisitor {
  socket: net.Socket;
  user = '';
  database = '';
  applicationName = '';
  processId = 0;
  lastActive = Date.now();
  readonly remoteAddress: string;
  machine: SessionMachine<BackendConnection> | undefined;

  private phase: Phase = 'startup';
  private readonly framer: ClientFramer;
  private handshake: Handshake | undefined;
  private handle: PoolHandle | undefined;
  private startupParams = new Map<string, string>();
  private upgradeRequested = false;
  /** Bytes for the backend, written once per event. */
  private toBackend: Buffer[] = [];
  private outBackend: BackendConnection | undefined;
  /** Set while a backend chunk is being scanned: output goes in order through the scanner. */
  private scanning: BackendConnection | undefined;
  private afterScan: (() => void)[] = [];
  private pausedBackend: BackendConnection | undefined;
  private ended = false;
  private drainTimer: NodeJS.Timeout | undefined;

  constructor(
    socket: net.Socket,
    private readonly ctx: SessionContext,
  ) {
    this.socket = socket;
    this.remoteAddress = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? 0}`;
    this.framer = new ClientFramer(ctx.maxMessageLength);
    this.handshake = new Handshake(ctx, () => this.socket instanceof tls.TLSSocket);
    this.attach(socket);
  }

  /** For the server: the handshake phase, then the machine's mode. */
  get state(): string {
    return this.machine?.mode ?? this.phase;
  }

  get backend(): BackendConnection | undefined {
    return this.machine?.backend;
  }

  get pin(): { reason: string; rule: string } | undefined {
    return this.machine?.pin;
  }

  // ---------------------------------------------------------------- client side

  private attach(socket: net.Socket): void {
    socket.setNoDelay(true);
    socket.on('data', this.onClientData);
    socket.on('drain', this.onClientDrain);
    socket.on('error', this.onClientGone);
    socket.on('close', this.onClientGone);
  }

  private readonly onClientData = (chunk: Buffer): void => {
    this.lastActive = Date.now();
    this.guard(() => {
      this.framer.push(chunk, this.onClientMessage);
      if (this.upgradeRequested) this.upgradeToTls();
    });
  };

  private readonly onClientMessage = (buf: Buffer, start: number, end: number): void => {
    if (this.machine === undefined) {
      const step =
        this.phase === 'startup' && this.framer.mode === FrameMode.Startup ? this.handshake!.onStartupPacket(buf, start, end) : this.handshake!.onMessage(buf, start, end);
      this.onHandshakeStep(step);
      return;
    }
    this.machine.onClientMessage(decodeFrontend(buf, start, end));
  };

  private onHandshakeStep(step: HandshakeStep): void {
    switch (step.kind) {
      case 'reply':
        this.socket.write(step.bytes);
        if (this.framer.mode === FrameMode.Startup && step.bytes.length > 1) {
          this.framer.mode = FrameMode.Typed;
          this.phase = 'authenticating';
        }
        return;
      case 'tls':
        this.socket.write('S');
        this.framer.detach();
        this.upgradeRequested = true;
        return;
      case 'cancel':
        this.ctx.cancel(step.processId, step.secretKey);
        return this.closeSocket();
      case 'fail':
        return this.closeSocket({ severity: 'FATAL', code: step.sqlstate, message: step.message });
      case 'authenticated':
        this.framer.mode = FrameMode.Typed;
        this.framer.validTypes = FRONTEND_TYPES;
        return this.onAuthenticated(step.user, step.database, step.params, step.prefix);
    }
  }

  private upgradeToTls(): void {
    this.upgradeRequested = false;
    if (this.framer.takeRemainder().length > 0) throw new ProtocolError('received unencrypted data after SSL request');
    const raw = this.socket;
    raw.removeListener('data', this.onClientData);
    raw.removeListener('drain', this.onClientDrain);
    raw.removeListener('error', this.onClientGone);
    raw.removeListener('close', this.onClientGone);
    const secure = new tls.TLSSocket(raw, { isServer: true, secureContext: this.ctx.tls! });
    this.socket = secure;
    this.attach(secure);
  }

  private onAuthenticated(user: string, database: string, params: Map<string, string>, prefix?: Buffer): void {
    this.user = user;
    this.database = database;
    this.startupParams = params;
    this.applicationName = params.get('application_name') ?? '';
    this.handle = this.ctx.poolFor(database, user);
    let machine: SessionMachine<BackendConnection>;
    try {
      machine = new SessionMachine(params, this.ctx, this.io, this.handle.serverParams === undefined);
    } catch (err) {
      if (err instanceof StartupOptionsError) return this.closeSocket({ severity: 'FATAL', code: '0A000', message: err.message });
      throw err;
    }
    const scs = machine.settings.settings.get('standard_conforming_strings');
    if (scs !== undefined && !/^'(on|true|yes|1)'$/i.test(scs)) {
      // The pinning classifier reads literals as the server does with it on (the default since 9.1).
      const message = 'the proxy requires standard_conforming_strings = on (the PostgreSQL default); connect without setting it off';
      return this.closeSocket({ severity: 'FATAL', code: '0A000', message });
    }
    this.machine = machine;
    if (prefix) this.socket.write(prefix);
    this.socket.write(authenticationOk());
    if (this.handle.serverParams) this.welcome(this.handle.serverParams);
    // The first client of a pool waits for one backend, to learn what the server reports.
    else this.handle.pool.acquire(this);
  }

  private welcome(server: ReadonlyMap<string, string>): void {
    this.handle!.serverParams ??= server;
    const parts: Buffer[] = [];
    for (const [name, value] of server) {
      const own = REPORTED.includes(name) ? (this.startupParams.get(name) ?? this.startupParams.get(name.toLowerCase())) : undefined;
      parts.push(parameterStatus(name, own ?? value));
    }
    const keys = this.ctx.register(this);
    this.processId = keys.processId;
    parts.push(backendKeyData(keys.processId, keys.secretKey), readyForQuery('I'));
    this.socket.write(Buffer.concat(parts));
  }

  private readonly onClientDrain = (): void => {
    const b = this.pausedBackend;
    this.pausedBackend = undefined;
    b?.socket.resume();
  };

  private readonly onClientGone = (): void => {
    this.ended = true;
    if (this.machine) this.guard(() => this.machine!.onClientGone());
    else this.closeSocket();
  };

  // ---------------------------------------------------------------- the machine's effects

  private readonly io: SessionIO<BackendConnection> = {
    toClient: (bytes) => {
      if (this.scanning) this.scanning.scanner.insert(bytes);
      else if (!this.ended) this.writeClient(bytes);
    },
    toBackend: (backend, bytes) => {
      if (this.outBackend !== backend) this.flushBackend();
      this.outBackend = backend;
      this.toBackend.push(bytes);
    },
    borrow: () => this.handle!.pool.acquire(this),
    cancelBorrow: () => this.handle!.pool.cancel(this),
    release: (b) => this.later(() => this.giveBack(b, undefined)),
    discard: (b, reason) => this.later(() => this.giveBack(b, reason)),
    welcome: (server) => this.welcome(server),
    end: (fatal) => this.later(() => this.closeSocket(fatal)),
    pinned: (reason, rule) => {
      this.ctx.onPin(reason, rule);
      this.ctx.log.info({ client: this.remoteAddress, user: this.user, reason, rule }, 'session pinned');
    },
    warn: (fields, message) => this.ctx.log.warn({ client: this.remoteAddress, ...fields }, message),
  };

  /** Runs `f` after the backend chunk being scanned is written (now if none is). */
  private later(f: () => void): void {
    if (this.scanning) this.afterScan.push(f);
    else f();
  }

  private giveBack(b: BackendConnection, discardReason: string | undefined): void {
    // What this session sent goes out before anyone else's bytes, or the Terminate that closes it.
    if (this.outBackend === b) this.flushBackend();
    this.detach(b);
    if (discardReason !== undefined) {
      this.ctx.log.info({ backend: b.id, reason: discardReason }, 'closing a database connection instead of reusing it');
      b.destroy();
      this.handle!.pool.remove(b);
    } else {
      this.handle!.pool.release(b);
    }
  }

  private writeClient(bytes: Buffer): void {
    if (!this.socket.write(bytes)) {
      const b = this.machine?.backend;
      if (b && !this.pausedBackend) {
        b.socket.pause();
        this.pausedBackend = b;
      }
    }
  }

  private flushBackend(): void {
    const b = this.outBackend;
    const out = this.toBackend;
    if (b === undefined || out.length === 0) return;
    this.toBackend = [];
    if (b.closed) return;
    const ok = b.socket.write(out.length === 1 ? out[0]! : Buffer.concat(out));
    if (!ok && !this.ended) {
      // The server is not reading (e.g. a big COPY): stop reading the client until it drains.
      this.socket.pause();
      b.socket.once('drain', () => this.socket.resume());
    }
  }

  // ---------------------------------------------------------------- pool and backend events

  onBackend(backend: BackendConnection): void {
    this.guard(() => {
      backend.lastUsed = Date.now();
      this.machine!.onBackend(backend);
      if (this.machine!.backend === backend) {
        backend.owner = this;
        backend.scanner.setVisitor(this);
      }
    });
  }

  onBorrowError(err: BorrowError): void {
    if (this.machine?.mode === Mode.Waiting) this.ctx.log.warn({ user: this.user, database: this.database, err: err.message }, 'borrow failed');
    this.guard(() => this.machine!.onBorrowError(err));
  }

  onBackendData(chunk: Buffer): void {
    const b = this.machine?.backend;
    if (b === undefined) return;
    this.guard(() => {
      this.scanning = b;
      let whole: boolean;
      try {
        whole = b.scanner.scan(chunk);
      } finally {
        this.scanning = undefined;
      }
      if (!this.ended) {
        if (whole) this.writeClient(chunk);
        else for (const part of b.scanner.out) this.writeClient(part);
      }
      const after = this.afterScan;
      this.afterScan = [];
      for (const f of after) f();
    }, b);
  }

  begin(type: number): boolean {
    return this.machine!.onServerBegin(type);
  }

  end(type: number, body: Buffer): void {
    this.machine!.onServerEnd(type, body);
  }

  onBackendLost(reason: string): void {
    this.guard(() => {
      const b = this.machine?.backend;
      if (b === undefined) return;
      this.detach(b);
      this.handle!.pool.remove(b);
      this.machine!.onBackendLost(reason);
    });
  }

  onCancelDone(backend: BackendConnection): void {
    this.guard(() => this.machine?.onCancelDone(backend));
  }

  /** For the server's cancel: the backend running this client's request, if one runs now. */
  cancelTarget(): BackendConnection | undefined {
    return this.machine?.cancelTarget();
  }

  private detach(b: BackendConnection): void {
    b.owner = undefined;
    b.scanner.setVisitor(UNOWNED);
    b.lastUsed = Date.now();
    if (this.pausedBackend === b) {
      this.pausedBackend = undefined;
      b.socket.resume();
    }
  }

  // ---------------------------------------------------------------- ending

  /** Graceful shutdown: close now if idle, else after the current unit of work. */
  closeWhenIdle(): void {
    if (this.machine) this.guard(() => this.machine!.closeWhenIdle());
    else this.closeSocket({ severity: 'FATAL', code: '57P01', message: 'terminating connection due to administrator command' });
  }

  idleTimeout(): void {
    this.guard(() => this.machine!.end({ severity: 'FATAL', code: '57P05', message: 'terminating connection due to idle-session timeout (idleClientTimeout)' }));
  }

  /** Ends the client's side now (the machine, if any, drains its backend). */
  close(): void {
    if (this.machine) this.guard(() => this.machine!.end());
    else this.closeSocket();
  }

  /**
   * Runs one event for this session; whatever it throws ends this session only. A malformed server
   * message (`from` the backend) ends that backend too.
   */
  private guard(f: () => void, from?: BackendConnection): void {
    try {
      f();
      this.flushBackend();
      this.armDrainTimer();
    } catch (err) {
      this.failed(err, from);
    }
  }

  private failed(err: unknown, from: BackendConnection | undefined): void {
    const e = err as Error & { sqlstate?: string };
    const protocol = err instanceof ProtocolError;
    if (protocol) this.ctx.log.warn({ client: this.remoteAddress, err: e.message }, 'protocol violation');
    else this.ctx.log.error({ client: this.remoteAddress, err }, 'client session failed');
    this.ctx.onSessionError(protocol ? 'protocol_violation' : from ? 'server_message' : 'internal');
    this.toBackend = [];
    const m = this.machine;
    const b = from ?? m?.backend;
    // After an exception the session's view of its backend cannot be trusted: close it.
    if (b) {
      this.scanning = undefined;
      this.afterScan = [];
      this.detach(b);
      b.destroy();
      this.handle?.pool.remove(b);
    }
    m?.abort();
    const message = from ? `the database connection failed: ${e.message}` : e.message;
    this.closeSocket({ severity: 'FATAL', code: protocol ? (e.sqlstate ?? '08P01') : from ? '08006' : 'XX000', message });
  }

  private armDrainTimer(): void {
    // A client that sent Terminate waits for its replies as long as PostgreSQL would make it.
    if (this.machine?.mode !== Mode.Draining || this.machine.awaitingReplies || this.drainTimer) return;
    this.drainTimer = setTimeout(() => this.guard(() => this.machine!.onDrainTimeout()), DRAIN_TIMEOUT_MS);
    this.drainTimer.unref();
  }

  private closeSocket(fatal?: ErrorInfo): void {
    if (this.processId) this.ctx.unregister(this.processId);
    this.processId = 0;
    this.ctx.onClose(this);
    const socket = this.socket;
    if (this.ended || socket.destroyed) return;
    this.ended = true;
    if (fatal && socket.writable) {
      socket.end(errorResponse(fatal));
      // A final error is on its way out: let it flush, then make sure the socket goes.
      const t = setTimeout(() => socket.destroy(), 2_000);
      t.unref();
      socket.once('close', () => clearTimeout(t));
    } else {
      socket.end();
      const t = setTimeout(() => socket.destroy(), 2_000);
      t.unref();
      socket.once('close', () => clearTimeout(t));
    }
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
    };
  }
}
