/**
 * One client connection: the only place where a client socket meets a backend socket. It frames the
 * client's messages, borrows a backend when a unit of work starts, makes the backend's session match
 * the client's (settings, prepared statements), forwards server bytes as they come, and gives the
 * backend back on ReadyForQuery `I` with no replies owed — unless the session is pinned.
 */
import type net from 'node:net';
import tls from 'node:tls';
import { serialize } from 'pg-protocol';
import type { BackendConnection } from '../backend/connection.js';
import type { BorrowError, Waiter } from '../pool/pool.js';
import { ProtocolError } from '../protocol/errors.js';
import { ClientFramer, FrameMode } from '../protocol/framer.js';
import {
  authenticationOk,
  backendKeyData,
  Code,
  commandComplete,
  decodeBind,
  decodeCommandComplete,
  decodeErrorFields,
  decodeParse,
  decodeQuery,
  decodeTarget,
  errorResponse,
  noticeResponse,
  parameterStatus,
  readyForQuery,
  type ErrorFields,
} from '../protocol/messages.js';
import type { ServerMessageVisitor } from '../protocol/server-scanner.js';
import { startupSettings, StartupOptionsError, syncSettingsSql } from '../session/params.js';
import { ClientState, transition, type ClientEvent } from '../session/state.js';
import { clientStatement, EMPTY_PARSE, NOOP_CLOSE, parseMessage, renameBind, statementTarget, type ClientStatement } from '../session/statements.js';
import { giveBack } from './cleanup.js';
import type { PoolHandle, SessionContext, SetOp, SqlDecision } from './context.js';
import { Handshake, type HandshakeStep } from './handshake.js';

const I = 0x49;
const T = 0x54;
const E = 0x45;

/** Parameters PostgreSQL reports to clients; a client's own value wins over the pool's. */
const REPORTED = ['application_name', 'client_encoding', 'DateStyle', 'IntervalStyle', 'TimeZone'];

/** Per-backend cap on prepared statements before old ones are deallocated. */
const MAX_PREPARED_PER_BACKEND = 1000;

interface ParseExpectation {
  drop: boolean;
  segment: number;
}

export class ClientSession implements Waiter<BackendConnection>, ServerMessageVisitor {
  state = ClientState.Startup;
  socket: net.Socket;
  backend: BackendConnection | undefined;
  pin: { reason: string; rule: string } | undefined;
  user = '';
  database = '';
  applicationName = '';
  processId = 0;
  lastActive = Date.now();
  readonly remoteAddress: string;

  private readonly framer: ClientFramer;
  private handshake: Handshake | undefined;
  private handle: PoolHandle | undefined;
  private settings = new Map<string, string>();
  private startupParams = new Map<string, string>();
  /** Messages of a unit of work that arrived before a backend was linked. */
  private pending: Buffer[] = [];
  /** Bytes for the backend from the chunk being framed, written once per chunk. */
  private out: Buffer[] = [];
  private owed = 0;
  private txStatus = I;
  /** Injected queries (session sync) whose replies are dropped. */
  private swallow = 0;
  private injectedError: ErrorFields | undefined;
  private releaseAfterWrite = false;
  private closeAfterUnit = false;
  private readonly statements = new Map<string, ClientStatement>();
  private parseExpect: ParseExpectation[] = [];
  private segmentsSent = 0;
  private segmentsDone = 0;
  private usedUnnamed = false;
  /** SETs seen in the current statement / transaction, applied only if it commits. */
  private unconfirmed: SetOp[] = [];
  private txnSets: SetOp[] = [];
  private errorInSegment = false;
  private lastTag = '';
  /** After a failover cut the client's transaction: the proxy answers until ROLLBACK. */
  private failedTxn = false;
  private discardUntilSync = false;

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
    try {
      this.framer.push(chunk, this.onClientMessage);
      if (this.upgradeRequested) this.upgradeToTls();
      this.flushToBackend();
    } catch (err) {
      this.fatal(err);
    }
  };

  private readonly onClientMessage = (buf: Buffer, start: number, end: number): void => {
    if (this.state === ClientState.Startup || this.state === ClientState.Authenticating) {
      const step =
        this.state === ClientState.Startup && this.framer.mode === FrameMode.Startup
          ? this.handshake!.onStartupPacket(buf, start, end)
          : this.handshake!.onMessage(buf, start, end);
      this.onHandshakeStep(step);
      return;
    }
    if (this.state === ClientState.Closing || this.state === ClientState.Closed) return;
    if (this.backend === undefined) {
      this.queue(buf, start, end);
      return;
    }
    this.forward(buf, start, end);
  };

  private upgradeRequested = false;

  private onHandshakeStep(step: HandshakeStep): void {
    switch (step.kind) {
      case 'reply':
        this.socket.write(step.bytes);
        if (this.framer.mode === FrameMode.Startup && this.state === ClientState.Startup && step.bytes.length > 1) {
          this.framer.mode = FrameMode.Typed;
          this.go('authenticating');
        }
        return;
      case 'tls':
        this.socket.write('S');
        this.framer.detach();
        this.upgradeRequested = true;
        return;
      case 'cancel':
        this.ctx.cancel(step.processId, step.secretKey);
        this.go('close');
        this.socket.destroy();
        return;
      case 'fail':
        this.sendFatal(step.sqlstate, step.message);
        return;
      case 'authenticated':
        this.framer.mode = FrameMode.Typed;
        this.onAuthenticated(step.user, step.database, step.params, step.prefix);
        return;
    }
  }

  private upgradeToTls(): void {
    this.upgradeRequested = false;
    if (this.framer.takeRemainder().length > 0) {
      throw new ProtocolError('received unencrypted data after SSL request');
    }
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
    try {
      this.settings = startupSettings(params);
    } catch (err) {
      if (err instanceof StartupOptionsError) return this.sendFatal('0A000', err.message);
      throw err;
    }
    const scs = this.settings.get('standard_conforming_strings');
    if (scs !== undefined && !/^'(on|true|yes|1)'$/i.test(scs)) {
      // The pinning classifier reads literals as the server does with it on (the default since 9.1).
      return this.sendFatal('0A000', 'the proxy requires standard_conforming_strings = on (the PostgreSQL default); connect without setting it off');
    }
    this.handle = this.ctx.poolFor(database, user);
    if (prefix) this.socket.write(prefix);
    this.socket.write(authenticationOk());
    if (this.handle.serverParams) return this.welcome();
    // The first client of a pool waits for one backend, to learn what the server reports.
    this.go('authenticated');
    this.go('work');
    this.welcoming = true;
    this.handle.pool.acquire(this);
  }

  private welcoming = false;

  private welcome(): void {
    if (this.state !== ClientState.Idle) this.go('authenticated');
    const server = this.handle!.serverParams ?? new Map<string, string>();
    const parts: Buffer[] = [];
    for (const [name, value] of server) {
      const own = REPORTED.includes(name) ? this.startupParams.get(name) ?? this.startupParams.get(name.toLowerCase()) : undefined;
      parts.push(parameterStatus(name, own ?? value));
    }
    const keys = this.ctx.register(this);
    this.processId = keys.processId;
    parts.push(backendKeyData(keys.processId, keys.secretKey), readyForQuery('I'));
    this.socket.write(Buffer.concat(parts));
  }

  /** A message of a unit of work that has no backend yet. */
  private queue(buf: Buffer, start: number, end: number): void {
    const type = buf[start];
    if (type === Code.Terminate && this.pending.length === 0) {
      this.close();
      return;
    }
    if (this.failedTxn || this.discardUntilSync || this.lostUntilSync) {
      this.answerWithoutBackend(buf, start, end);
      return;
    }
    this.pending.push(buf.subarray(start, end));
    if (this.state === ClientState.Idle) {
      this.go('work');
      this.handle!.pool.acquire(this);
    }
  }

  // ---------------------------------------------------------------- borrowing

  onBackend(backend: BackendConnection): void {
    if (this.welcoming) {
      this.welcoming = false;
      this.handle!.serverParams ??= backend.serverParams;
      this.go('borrowFailed'); // back to Idle without a unit of work
      this.handle!.pool.release(backend);
      this.welcome();
      return;
    }
    if (this.state !== ClientState.Waiting) {
      this.handle!.pool.release(backend);
      return;
    }
    this.go('linked');
    this.backend = backend;
    backend.owner = this;
    backend.scanner.setVisitor(this);
    backend.lastUsed = Date.now();
    this.syncSession(backend);
    const pending = this.pending;
    this.pending = [];
    for (const m of pending) this.forward(m, 0, m.length);
    this.flushToBackend();
  }

  onBorrowError(err: BorrowError): void {
    if (this.welcoming) {
      this.welcoming = false;
      this.sendFatal(err.sqlstate, err.message);
      return;
    }
    if (this.state !== ClientState.Waiting) return;
    this.go('borrowFailed');
    this.ctx.log.warn({ user: this.user, database: this.database, err: err.message }, 'borrow failed');
    const pending = this.pending;
    this.pending = [];
    this.failPending(pending, { severity: 'ERROR', code: err.sqlstate, message: err.message });
  }

  /** Answers queued messages with an error, the way a server that skips to Sync would. */
  private failPending(pending: Buffer[], error: Parameters<typeof errorResponse>[0]): void {
    const replies: Buffer[] = [];
    let erred = false;
    for (const m of pending) {
      const type = m[0];
      if (type === Code.Query) {
        replies.push(errorResponse(error), readyForQuery(this.txStatusChar()));
      } else if (type === Code.Sync || type === Code.FunctionCall) {
        if (!erred) replies.push(errorResponse(error));
        replies.push(readyForQuery(this.txStatusChar()));
        erred = false;
        continue;
      } else if (!erred) {
        erred = true;
        continue;
      }
    }
    if (erred) {
      replies.push(errorResponse(error));
      this.discardUntilSync = true;
    }
    if (replies.length > 0) this.socket.write(Buffer.concat(replies));
  }

  /** Brings the backend's settings and prepared-statement cache in line with this client's. */
  private syncSession(backend: BackendConnection): void {
    let sql = syncSettingsSql(this.settings, backend.params);
    if (backend.prepared.size > MAX_PREPARED_PER_BACKEND) {
      let n = backend.prepared.size - MAX_PREPARED_PER_BACKEND / 2;
      for (const name of backend.prepared.keys()) {
        if (n-- <= 0) break;
        backend.prepared.delete(name);
        sql += `DEALLOCATE ${name};`;
      }
    }
    if (sql === '') return;
    backend.params = new Map(this.settings);
    this.inject(sql);
  }

  private inject(sql: string): void {
    this.swallow++;
    this.segmentsSent++;
    this.out.push(serialize.query(sql));
  }

  // ---------------------------------------------------------------- client → backend

  /** One client message for the linked backend: account for its replies, rewrite names, queue it. */
  private forward(buf: Buffer, start: number, end: number): void {
    const type = buf[start]!;
    if (this.resync && (type === Code.Query || type === Code.Parse || type === Code.Bind)) {
      this.resync = false;
      this.syncSession(this.backend!);
    }
    switch (type) {
      case Code.Query:
        this.onSql(decodeQuery(buf, start, end));
        this.usedUnnamed = false;
        this.endSegment();
        break;
      case Code.Sync:
      case Code.FunctionCall:
        this.endSegment();
        break;
      case Code.Parse:
        return this.onParse(buf, start, end);
      case Code.Bind:
        return this.onBind(buf, start, end);
      case Code.Describe:
      case Code.Close:
        return this.onStatementTarget(type, buf, start, end);
      case Code.Terminate:
        this.close();
        return;
    }
    this.out.push(buf.subarray(start, end));
  }

  private endSegment(): void {
    this.owed++;
    this.segmentsSent++;
  }

  private onSql(sql: string): void {
    const d = this.ctx.decide(sql);
    this.applyDecision(d);
  }

  private applyDecision(d: SqlDecision): void {
    if (d.pin && !this.pin) {
      this.pin = d.pin;
      this.ctx.onPin(d.pin.reason, d.pin.rule);
      this.ctx.log.info({ client: this.remoteAddress, user: this.user, reason: d.pin.reason, rule: d.pin.rule }, 'session pinned');
    }
    if (d.track.length > 0) {
      this.unconfirmed.push(...d.track);
      this.backend!.scanner.wantBody[Code.Close /* CommandComplete */] = 1;
    }
    if (d.deallocateAll || d.discardAll) {
      this.backend!.prepared.clear();
      this.statements.clear();
    }
    if (d.discardAll) this.unconfirmed.push({ op: 'reset_all' });
  }

  private onParse(buf: Buffer, start: number, end: number): void {
    const parse = decodeParse(buf, start, end);
    const sqlDecision = this.ctx.decide(parse.query);
    this.applyDecision(sqlDecision);
    if (parse.name === '') {
      this.usedUnnamed = true;
      this.expectParse(false);
      this.out.push(buf.subarray(start, end));
      return;
    }
    const stmt = clientStatement(buf.subarray(parse.queryAt, end));
    this.statements.set(parse.name, stmt);
    const backend = this.backend!;
    if (!backend.prepared.has(stmt.backendName)) {
      backend.prepared.set(stmt.backendName, parse.name);
      this.expectParse(false);
      this.out.push(parseMessage(stmt.backendName, stmt.tail));
    } else if (!this.usedUnnamed) {
      // Already prepared here: the client still expects a ParseComplete, in order. Parsing the empty
      // query into the unnamed statement yields exactly that and costs the server nothing.
      this.expectParse(false);
      this.out.push(EMPTY_PARSE);
    } else {
      // The client relies on its unnamed statement in this pipeline, so the empty-Parse trick would
      // clobber it: parse again under a fresh name instead (rare; the cache cap evicts the spare).
      const fresh = `${stmt.backendName}_${++uniqueStatement}`;
      this.expectParse(false);
      this.out.push(parseMessage(fresh, stmt.tail));
      backend.prepared.set(fresh, parse.name);
      this.statements.set(parse.name, { ...stmt, backendName: fresh });
    }
  }

  /** Makes sure the backend holds the client's statement, injecting a Parse whose reply is dropped. */
  private ensurePrepared(name: string): string | undefined {
    const stmt = this.statements.get(name);
    if (stmt === undefined) return undefined;
    const backend = this.backend!;
    if (!backend.prepared.has(stmt.backendName)) {
      backend.prepared.set(stmt.backendName, name);
      this.expectParse(true);
      this.out.push(parseMessage(stmt.backendName, stmt.tail));
    }
    return stmt.backendName;
  }

  private onBind(buf: Buffer, start: number, end: number): void {
    const bind = decodeBind(buf, start, end);
    if (bind.statement === '') {
      this.out.push(buf.subarray(start, end));
      return;
    }
    const backendName = this.ensurePrepared(bind.statement);
    // An unknown name goes through unchanged so the client gets the server's own error.
    const statementAt = bind.restAt - Buffer.byteLength(bind.statement) - 1;
    this.out.push(backendName ? renameBind(buf, start, end, statementAt, bind.restAt, backendName) : buf.subarray(start, end));
  }

  private onStatementTarget(type: Code.Describe | Code.Close, buf: Buffer, start: number, end: number): void {
    const target = decodeTarget(buf, start, end);
    if (target.kind !== 0x53 /* S */ || target.name === '') {
      this.out.push(buf.subarray(start, end));
      return;
    }
    if (type === Code.Close) {
      // Backend statements are shared by name; the client's copy goes, the server's stays cached.
      this.statements.delete(target.name);
      this.out.push(NOOP_CLOSE);
      return;
    }
    const backendName = this.ensurePrepared(target.name);
    this.out.push(backendName ? statementTarget(Code.Describe, backendName) : buf.subarray(start, end));
  }

  private expectParse(drop: boolean): void {
    this.parseExpect.push({ drop, segment: this.segmentsSent });
  }

  private flushToBackend(): void {
    const out = this.out;
    if (out.length === 0) return;
    this.out = [];
    const backend = this.backend;
    if (backend === undefined) return;
    const ok = backend.socket.write(out.length === 1 ? out[0]! : Buffer.concat(out));
    if (!ok) {
      // The server is not reading (e.g. a big COPY): stop reading the client until it drains.
      this.socket.pause();
      backend.socket.once('drain', () => this.socket.resume());
    }
  }

  // ---------------------------------------------------------------- backend → client

  /** Called by the backend socket's data handler while this session owns it. */
  onBackendData(chunk: Buffer): void {
    const backend = this.backend!;
    const scanner = backend.scanner;
    let ok = true;
    if (scanner.scan(chunk)) {
      ok = this.socket.write(chunk);
    } else {
      const r = scanner.ranges;
      for (let i = 0; i < r.length; i += 2) ok = this.socket.write(chunk.subarray(r[i]!, r[i + 1]!));
    }
    if (!ok && !this.releaseAfterWrite) {
      backend.socket.pause();
      this.pausedBackend = backend;
    }
    if (this.releaseAfterWrite) this.release();
  }

  private pausedBackend: BackendConnection | undefined;

  private readonly onClientDrain = (): void => {
    const b = this.pausedBackend;
    this.pausedBackend = undefined;
    b?.socket.resume();
  };

  keep(type: number): boolean {
    if (this.swallow > 0) return false;
    if (type === Code.ParseComplete && this.parseExpect.length > 0) {
      return !this.parseExpect.shift()!.drop;
    }
    return true;
  }

  message(type: number, body: Buffer): void {
    switch (type) {
      case Code.ReadyForQuery:
        return this.onReadyForQuery(body[0]!);
      case Code.Execute /* ErrorResponse */:
        if (this.swallow > 0) this.injectedError = decodeErrorFields(body);
        else this.errorInSegment = true;
        return;
      case Code.Close /* CommandComplete */:
        if (this.swallow === 0) this.lastTag = decodeCommandComplete(body);
        return;
    }
  }

  private onReadyForQuery(status: number): void {
    this.segmentsDone++;
    while (this.parseExpect.length > 0 && this.parseExpect[0]!.segment < this.segmentsDone) this.parseExpect.shift();
    if (this.swallow > 0) {
      this.swallow--;
      if (this.injectedError) this.onInjectedError(this.injectedError);
      return;
    }
    this.owed = Math.max(0, this.owed - 1);
    this.settleSets(status);
    this.txStatus = status;
    this.errorInSegment = false;
    if (this.owed === 0 && status === I) {
      if (this.closeAfterUnit) {
        this.releaseAfterWrite = !this.pin;
        setImmediate(() => this.close());
      } else if (!this.pin) {
        this.releaseAfterWrite = true;
      }
    }
  }

  /** SETs take effect only if their statement or transaction committed. */
  private settleSets(status: number): void {
    if (this.unconfirmed.length === 0 && this.txnSets.length === 0) return;
    const failed = this.errorInSegment || status === E;
    if (this.unconfirmed.length > 0) {
      if (!failed) this.txnSets.push(...this.unconfirmed);
      this.unconfirmed = [];
    }
    if (status === T) return;
    if (status === E || (failed && this.txStatus === I)) {
      this.txnSets = [];
    } else if (status === I) {
      if (this.lastTag !== 'ROLLBACK') this.applySets(this.txnSets);
      this.txnSets = [];
    }
    if (this.txnSets.length === 0) this.backend!.scanner.wantBody[Code.Close] = 0;
  }

  /**
   * Records committed SET/RESETs for the client and the backend. RESET returns a setting to the
   * client's startup value, which the backend (opened without it) lacks: re-sync before the next
   * statement when that happens.
   */
  private applySets(ops: SetOp[]): void {
    const backend = this.backend!;
    const startup = startupSettings(this.startupParams);
    for (const op of ops) {
      if (op.op === 'reset_all') {
        this.settings = startup;
        backend.params.clear();
      } else if (op.op === 'reset' && op.name) {
        const value = startup.get(op.name);
        if (value === undefined) this.settings.delete(op.name);
        else this.settings.set(op.name, value);
        backend.params.delete(op.name);
      } else if (op.op === 'set' && op.name && op.value !== undefined) {
        this.settings.set(op.name, op.value);
        backend.params.set(op.name, op.value);
      }
    }
    this.resync = syncSettingsSql(this.settings, backend.params) !== '';
  }

  private resync = false;

  private onInjectedError(fields: ErrorFields): void {
    this.injectedError = undefined;
    this.ctx.log.warn({ client: this.remoteAddress, error: fields['M'] }, 'replaying session settings failed');
    // The backend's settings are now unknown: forget them so the next borrower re-applies its own.
    this.backend!.params = new Map([['dbproxy.unknown', "'1'"]]);
    this.socket.write(
      noticeResponse({
        severity: 'WARNING',
        code: fields['C'] ?? 'XX000',
        message: `the proxy could not restore a session setting on the database connection: ${fields['M'] ?? ''}`,
      }),
    );
  }

  private release(): void {
    this.releaseAfterWrite = false;
    const backend = this.backend;
    if (backend === undefined) return;
    this.unlink(backend);
    this.go('released');
    this.handle!.pool.release(backend);
  }

  private unlink(backend: BackendConnection): void {
    backend.owner = undefined;
    backend.scanner.setVisitor(IDLE);
    backend.lastUsed = Date.now();
    this.backend = undefined;
    this.usedUnnamed = false;
    this.parseExpect = [];
    this.segmentsSent = this.segmentsDone = 0;
    if (this.pausedBackend === backend) {
      this.pausedBackend = undefined;
      backend.socket.resume();
    }
  }

  /** The backend died under this client (failover, server restart, network). */
  onBackendLost(reason: string): void {
    const backend = this.backend;
    if (backend === undefined) return;
    this.unlink(backend);
    this.handle!.pool.remove(backend);
    if (this.pin) {
      return this.sendFatal('08006', `the database connection was lost (${reason}) and this session's state (${this.pin.reason}) cannot be moved to another connection`);
    }
    this.go('lost');
    const inTxn = this.txStatus !== I || this.txnSets.length > 0;
    this.unconfirmed = [];
    this.txnSets = [];
    this.swallow = 0;
    if (inTxn) {
      this.failedTxn = true;
      this.txStatus = E;
    }
    if (this.owed === 0) {
      // Nothing is in flight: an unsolicited error would look like a broken connection to drivers.
      // The client learns at its next message (failedTxn), or at its Sync (lostUntilSync).
      if (!inTxn) this.lostUntilSync = true;
      return;
    }
    const replies: Buffer[] = [errorResponse(lostError(reason, inTxn))];
    for (; this.owed > 0; this.owed--) replies.push(readyForQuery(this.txStatusChar()));
    this.socket.write(Buffer.concat(replies));
  }

  /** Extended-protocol messages were sent without Sync when the backend died: fail at the Sync. */
  private lostUntilSync = false;

  /** While the proxy answers for a transaction cut by a failover: errors until ROLLBACK. */
  private answerWithoutBackend(buf: Buffer, start: number, end: number): void {
    const type = buf[start];
    if (type === Code.Sync) {
      const lost = this.lostUntilSync;
      this.discardUntilSync = this.lostUntilSync = false;
      const z = readyForQuery(this.txStatusChar());
      this.socket.write(lost ? Buffer.concat([errorResponse(lostError('the server closed the connection', false)), z]) : z);
      return;
    }
    if (this.lostUntilSync) {
      if (type === Code.Query) {
        this.lostUntilSync = false;
        this.socket.write(Buffer.concat([errorResponse(lostError('the server closed the connection', false)), readyForQuery(this.txStatusChar())]));
      }
      return;
    }
    if (this.discardUntilSync) return;
    if (type === Code.Query) {
      if (this.ctx.decide(decodeQuery(buf, start, end)).endsTransaction) {
        this.failedTxn = false;
        this.txStatus = I;
        this.socket.write(Buffer.concat([commandComplete('ROLLBACK'), readyForQuery('I')]));
        return;
      }
      this.socket.write(Buffer.concat([errorResponse(ABORTED), readyForQuery('E')]));
      return;
    }
    this.socket.write(errorResponse(ABORTED));
    this.discardUntilSync = true;
  }

  private txStatusChar(): 'I' | 'T' | 'E' {
    return this.txStatus === T ? 'T' : this.txStatus === E ? 'E' : 'I';
  }

  // ---------------------------------------------------------------- ending

  /** Graceful shutdown: close now if idle, else after the current unit of work. */
  closeWhenIdle(): void {
    if (this.backend === undefined && this.state !== ClientState.Waiting) {
      this.sendFatal('57P01', 'terminating connection due to administrator command');
      return;
    }
    this.closeAfterUnit = true;
  }

  /** Closes an idle client after idleClientTimeout. */
  idleTimeout(): void {
    this.sendFatal('57P05', 'terminating connection due to idle-session timeout (idleClientTimeout)');
  }

  private sendFatal(sqlstate: string, message: string): void {
    if (this.state === ClientState.Closed) return;
    if (this.socket.writable) this.socket.end(errorResponse({ severity: 'FATAL', code: sqlstate, message }));
    this.close();
  }

  private fatal(err: unknown): void {
    const e = err as Error & { sqlstate?: string };
    if (err instanceof ProtocolError) {
      this.ctx.log.warn({ client: this.remoteAddress, err: e.message }, 'protocol violation');
    } else {
      this.ctx.log.error({ client: this.remoteAddress, err }, 'client session failed');
    }
    this.sendFatal(e.sqlstate ?? '08P01', e.message);
  }

  private readonly onClientGone = (): void => {
    this.close();
  };

  /** Gives back what the session holds, cleaning the backend first when it is not clean. */
  close(): void {
    if (this.state === ClientState.Closed) return;
    const wasWaiting = this.state === ClientState.Waiting;
    this.state = ClientState.Closing;
    if (wasWaiting && this.handle) this.handle.pool.cancel(this);
    const backend = this.backend;
    if (backend !== undefined) {
      this.unlink(backend);
      giveBack(backend, this.handle!.pool, {
        owed: this.owed + this.swallow,
        inTransaction: this.txStatus !== I,
        pinReason: this.pin?.reason,
        log: this.ctx.log,
      });
    }
    this.releaseAfterWrite = false;
    if (this.processId) this.ctx.unregister(this.processId);
    this.ctx.onClose(this);
    this.state = ClientState.Closed;
    const socket = this.socket;
    if (socket.writableEnded) {
      // A final error is on its way out: let it flush, then make sure the socket goes.
      const t = setTimeout(() => socket.destroy(), 2_000);
      t.unref();
      socket.once('close', () => clearTimeout(t));
    } else {
      socket.destroy();
    }
  }

  private go(event: ClientEvent): void {
    this.state = transition(this.state, event);
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

let uniqueStatement = 0;

function lostError(reason: string, inTxn: boolean): Parameters<typeof errorResponse>[0] {
  return {
    severity: 'ERROR',
    code: '08006',
    message: `the database connection was lost: ${reason}`,
    hint: inTxn ? 'the transaction was rolled back; ROLLBACK and retry it' : 'retry the statement',
  };
}

const ABORTED = {
  severity: 'ERROR' as const,
  code: '25P02',
  message: 'current transaction is aborted, commands ignored until end of transaction block',
  detail: 'the database connection was lost while the transaction was open (failover or server restart)',
};

/** Visitor of a backend nobody owns: a stray message is dropped (the socket's close handler acts). */
const IDLE: ServerMessageVisitor = { keep: () => false, message: () => {} };

