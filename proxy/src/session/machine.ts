/**
 * The session machine: one client's protocol state, with no sockets. Events come in (a client
 * message, a backend from the pool, a server message, a lost backend); effects go out through
 * `SessionIO` (bytes for the client or the backend, borrow, release, close). The join in
 * client/session.ts is the only place that connects it to sockets.
 */
import type { Decision } from '../pinning/index.js';
import {
  Code,
  commandComplete,
  decodeCommandComplete,
  decodeErrorFields,
  errorResponse,
  errorResponseFromFields,
  noticeResponse,
  readyForQuery,
  type ErrorInfo,
} from '../protocol/messages.js';
import { drainStep } from './drain.js';
import { bytesOf, type FrontendMessage } from './frontend.js';
import { describeReq, Match, Req, reqOf, ServerMode, type Hook, type ReplyLedger } from './ledger.js';
import { INJECTED, PreparedRouter } from './prepared.js';
import { ABORTED, failRequests, lostError } from './replies.js';
import { SettingsTracker } from './settings.js';
import { ClientStatements, type BackendStatements } from './statements.js';
import { Mode, transition } from './state.js';
import { serialize } from 'pg-protocol';

const I = 0x49;

/** What the machine knows of a backend (BackendConnection implements it). */
export interface BackendState {
  readonly id: number;
  readonly ledger: ReplyLedger;
  readonly statements: BackendStatements;
  /** Settings applied to it with SET (name → SQL value). */
  params: Map<string, string>;
  /** CancelRequests forwarded for it and not yet done: it may not change hands until they are. */
  cancels: number;
  readonly serverParams: ReadonlyMap<string, string>;
}

export interface SessionIO<B extends BackendState> {
  toClient(bytes: Buffer): void;
  toBackend(backend: B, bytes: Buffer): void;
  borrow(): void;
  cancelBorrow(): void;
  /** The backend is idle: back to the pool. */
  release(backend: B): void;
  /** The backend cannot be trusted: close it. */
  discard(backend: B, reason: string): void;
  /** ParameterStatus…, BackendKeyData, ReadyForQuery for a client that waited for its pool's first backend. */
  welcome(serverParams: ReadonlyMap<string, string>): void;
  /** Close the client's connection, after a FATAL error if given. */
  end(fatal?: ErrorInfo): void;
  pinned(reason: string, rule: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
}

export interface MachineContext {
  decide(sql: string): Decision;
}

export class SessionMachine<B extends BackendState> {
  mode: Mode;
  backend: B | undefined;
  pin: { reason: string; rule: string } | undefined;
  readonly settings: SettingsTracker;
  readonly statements = new ClientStatements();
  private readonly router = new PreparedRouter(this.statements);
  /** Messages of a unit of work that arrived before a backend was linked. */
  private pending: FrontendMessage[] = [];
  /** The client sent Terminate or closed: nothing more will come from it. */
  private clientDone = false;
  /** The client's connection is still open: replies to what it sent before Terminate reach it. */
  clientOpen = true;
  /** The server sent a FATAL error for the client's request: the client ends with it, as on PostgreSQL. */
  private serverFatal = false;
  private closeAfterUnit = false;
  /** Pinned session, after a RESET that needs the startup value restored at the next boundary. */
  private resync = false;
  /** After DiscardUntilSync: the mode and status the Sync returns to. */
  private afterSync: { mode: Mode.Idle | Mode.FailedTransaction; status: 'I' | 'E' } = { mode: Mode.Idle, status: 'I' };
  /** Draining: the proxy sent cleanup requests; DISCARD ALL among them. */
  private cleaning = false;
  private reset = false;
  private match = Match.Client;

  constructor(
    startupParams: ReadonlyMap<string, string>,
    private readonly ctx: MachineContext,
    private readonly io: SessionIO<B>,
    welcoming: boolean,
  ) {
    this.settings = new SettingsTracker(startupParams);
    this.mode = welcoming ? Mode.Welcoming : Mode.Idle;
  }

  // ------------------------------------------------------------------ client events

  onClientMessage(m: FrontendMessage): void {
    switch (this.mode) {
      case Mode.Welcoming:
      case Mode.Waiting:
        if (this.clientDone) return;
        this.pending.push(m);
        if (m.type === Code.Terminate) this.clientDone = true;
        return;
      case Mode.Idle:
        return this.onIdle(m);
      case Mode.Linked:
      case Mode.Pinned:
        return this.forward(m);
      case Mode.FailedTransaction:
        return this.inFailedTransaction(m);
      case Mode.DiscardUntilSync:
        return this.discarding(m);
      default:
        return; // Draining, Closed: after Terminate nothing is read
    }
  }

  /** The client's socket closed (or errored): what it sent before still runs, as on PostgreSQL. */
  onClientGone(): void {
    this.clientOpen = false;
    if (this.mode === Mode.Draining) return this.drain(this.backend!);
    if (this.mode === Mode.Closed) return;
    this.clientDone = true;
    switch (this.mode) {
      case Mode.Waiting:
      case Mode.Welcoming:
        if (this.pending.length === 0) this.finish();
        return;
      case Mode.Linked:
      case Mode.Pinned:
        return this.leave();
      default:
        return this.finish();
    }
  }

  private onIdle(m: FrontendMessage): void {
    switch (m.type) {
      case Code.Terminate:
        return this.finish();
      case Code.Sync:
        return this.io.toClient(readyForQuery('I'));
      case Code.Flush:
      case Code.CopyData:
      case Code.CopyDone:
      case Code.CopyFail:
        return; // owed nothing, as PostgreSQL outside COPY
    }
    this.pending.push(m);
    this.go(Mode.Waiting);
    this.io.borrow();
  }

  private inFailedTransaction(m: FrontendMessage): void {
    switch (m.type) {
      case Code.Terminate:
        return this.finish();
      case Code.Query:
        if (this.ctx.decide(m.sql).endsTransaction) {
          this.go(Mode.Idle);
          return this.io.toClient(Buffer.concat([commandComplete('ROLLBACK'), readyForQuery('I')]));
        }
        return this.io.toClient(Buffer.concat([errorResponse(ABORTED), readyForQuery('E')]));
      case Code.Sync:
        return this.io.toClient(readyForQuery('E'));
      case Code.FunctionCall:
        return this.io.toClient(Buffer.concat([errorResponse(ABORTED), readyForQuery('E')]));
      case Code.Flush:
      case Code.CopyData:
      case Code.CopyDone:
      case Code.CopyFail:
        return;
      default:
        this.io.toClient(errorResponse(ABORTED));
        this.discardUntilSync(Mode.FailedTransaction, 'E');
    }
  }

  private discarding(m: FrontendMessage): void {
    if (m.type === Code.Terminate) return this.finish();
    if (m.type !== Code.Sync) return;
    const { mode, status } = this.afterSync;
    this.go(mode);
    this.io.toClient(readyForQuery(status));
  }

  private discardUntilSync(after: Mode.Idle | Mode.FailedTransaction, status: 'I' | 'E'): void {
    this.afterSync = { mode: after, status };
    this.go(Mode.DiscardUntilSync);
  }

  // ------------------------------------------------------------------ borrowing

  /** The pool hands over a backend (possibly from inside another session's release). */
  onBackend(b: B): void {
    if (this.mode === Mode.Welcoming) {
      this.io.welcome(b.serverParams);
      if (this.pending.length === 0) {
        this.go(Mode.Idle);
        this.io.release(b);
        if (this.clientDone) this.finish();
        else if (this.closeAfterUnit) this.end({ severity: 'FATAL', code: '57P01', message: 'terminating connection due to administrator command' });
        return;
      }
    } else if (this.mode !== Mode.Waiting) {
      this.io.release(b);
      return;
    }
    this.link(b);
  }

  onBorrowError(err: { sqlstate: string; message: string }): void {
    if (this.mode === Mode.Welcoming) return this.end({ severity: 'FATAL', code: err.sqlstate, message: err.message });
    if (this.mode !== Mode.Waiting) return;
    const pending = this.pending;
    this.pending = [];
    const reqs: Req[] = [];
    for (const m of pending) {
      const r = m.type === Code.Describe ? describeReq(m.kind) : reqOf(m.type);
      if (r !== undefined) reqs.push(r);
    }
    const replies = failRequests(reqs, { severity: 'ERROR', code: err.sqlstate, message: err.message }, 'I');
    if (replies.bytes.length > 0) this.io.toClient(Buffer.concat(replies.bytes));
    if (this.clientDone) return this.finish();
    if (replies.openBatch) this.discardUntilSync(Mode.Idle, 'I');
    else this.go(Mode.Idle);
  }

  private link(b: B): void {
    this.backend = b;
    this.go(this.pin ? Mode.Pinned : Mode.Linked);
    this.prepare(b);
    const pending = this.pending;
    this.pending = [];
    for (const m of pending) {
      if (this.mode !== Mode.Linked && this.mode !== Mode.Pinned) break;
      this.forward(m);
    }
    if (this.clientDone && (this.mode === Mode.Linked || this.mode === Mode.Pinned)) this.leave();
  }

  /** At a boundary: close the backend's garbage statements and bring its settings in line. */
  private prepare(b: B): void {
    const closes = b.statements.takeCloses();
    if (closes.length > 0) {
      for (const c of closes) this.send(c, Req.Close, INJECTED);
      this.send(SYNC, Req.Sync, INJECTED);
    }
    const sql = this.settings.syncSql(b.params);
    if (sql !== '') {
      b.statements.unnamed = undefined;
      this.send(serialize.query(sql), Req.Query, this.settingsHook(b));
    }
  }

  private settingsHook(b: B): Hook {
    return {
      injected: true,
      onError: (fields) => {
        this.io.warn({ error: fields['M'] }, 'replaying session settings failed');
        // The backend's settings are now unknown: the next borrower re-applies its own.
        b.params = new Map([['dbproxy.unknown', "'1'"]]);
        this.io.toClient(
          noticeResponse({
            severity: 'WARNING',
            code: fields['C'] ?? 'XX000',
            message: `the proxy could not restore a session setting on the database connection: ${fields['M'] ?? ''}`,
          }),
        );
      },
    };
  }

  // ------------------------------------------------------------------ client → backend

  private send(bytes: Buffer, req: Req, hook?: Hook): void {
    const b = this.backend!;
    this.io.toBackend(b, bytes);
    b.ledger.push(req, hook);
  }

  private readonly sender = (bytes: Buffer, req: Req, hook?: Hook): void => this.send(bytes, req, hook);

  private forward(m: FrontendMessage): void {
    const b = this.backend!;
    if (this.resync && b.ledger.quiet()) {
      this.resync = false;
      this.prepare(b);
    }
    switch (m.type) {
      case Code.Query:
        return this.forwardQuery(m, b);
      case Code.Parse:
        this.applyDecision(this.ctx.decide(m.sql));
        return this.router.parse(m, b.statements, this.sender);
      case Code.Bind:
        return this.router.bind(m, b.statements, this.sender);
      case Code.Describe:
        if (m.kind === 0x53) return this.router.describe(m, b.statements, this.sender);
        return this.send(bytesOf(m), Req.DescribePortal);
      case Code.Close:
        if (m.kind === 0x53) return this.router.close(m, b.statements, this.sender);
        return this.send(bytesOf(m), Req.Close);
      case Code.Terminate:
        this.clientDone = true;
        return this.leave();
      default:
        return this.send(bytesOf(m), reqOf(m.type)!);
    }
  }

  private forwardQuery(m: FrontendMessage, b: B): void {
    const d = this.ctx.decide(m.sql);
    this.applyDecision(d);
    const undoUnnamed = this.router.query(b.statements);
    if (d.deallocate !== undefined) {
      const mapped = this.router.deallocate(d.deallocate, b.statements, b.ledger, this.sender);
      if (mapped) return this.send(mapped.bytes, Req.Query, mapped.hook);
    }
    if (d.deallocateAll || d.discardAll) return this.send(bytesOf(m), Req.Query, this.router.deallocateAll(b.statements, b.ledger));
    this.send(bytesOf(m), Req.Query, undoUnnamed);
  }

  private applyDecision(d: Decision): void {
    if (d.pin && !this.pin) {
      this.pin = d.pin;
      this.io.pinned(d.pin.reason, d.pin.rule);
      if (this.mode === Mode.Linked) this.go(Mode.Pinned);
    }
    if (d.track.length > 0) this.settings.track(d.track);
    if (d.discardAll) this.settings.track([{ op: 'reset_all' }]);
  }

  // ------------------------------------------------------------------ backend → client

  /** At the first byte of each server message: forward it to the client or not. */
  onServerBegin(type: number): boolean {
    const b = this.backend!;
    const match = b.ledger.begin(type);
    this.match = match;
    // Errors are forwarded (or not) once read whole: a FATAL, a name to translate.
    if (type === Code.Execute /* ErrorResponse */) return false;
    if (this.mode === Mode.Draining && !this.clientOpen) return false;
    switch (match) {
      case Match.Client:
      case Match.Async:
        return true;
      case Match.Injected:
        return false;
      default:
        this.io.warn({ backend: b.id, type: String.fromCharCode(type) }, 'the database sent a reply nothing asked for');
        b.ledger.unreliable = true;
        return true;
    }
  }

  /** At the end of each server message; `body` is there for the types the join collects. */
  onServerEnd(type: number, body: Buffer): void {
    const b = this.backend!;
    const hook = b.ledger.currentHook();
    const match = this.match;
    if (type === Code.Execute /* ErrorResponse */) this.onServerError(b, hook, match, body);
    else if (type === Code.Close /* CommandComplete */ && match === Match.Client && this.settings.tracking) {
      this.settings.onCommandComplete(decodeCommandComplete(body));
    }
    const status = type === Code.ReadyForQuery ? body[0]! : 0;
    if (!b.ledger.end(type, status)) {
      this.io.warn({ backend: b.id, type: String.fromCharCode(type) }, 'the database reply does not fit the request: the connection will not be reused');
      b.ledger.unreliable = true;
    }
    if (this.backend !== b) return;
    if (type === Code.ReadyForQuery) this.onReady(b, match, status);
    else if (this.mode === Mode.Draining && this.clientOpen && !b.ledger.owes()) this.drain(b);
  }

  private onServerError(b: B, hook: Hook | undefined, match: Match, body: Buffer): void {
    const fields = decodeErrorFields(body);
    const severity = fields['V'] ?? fields['S'];
    if (severity === 'FATAL' || severity === 'PANIC') {
      b.ledger.unreliable = true;
      // A server shutting down (failover, restart): the backend is lost, the client stays.
      if (SHUTDOWN.has(fields['C'] ?? '')) return;
      this.serverFatal = true;
      if (this.clientOpen) this.io.toClient(errorMessage(body));
      return;
    }
    const toClient = this.clientOpen && (this.mode !== Mode.Draining || match !== Match.Injected);
    if (match === Match.Injected) {
      hook?.onError?.(fields);
      if (!hook?.forwardErrors) return;
    }
    this.settings.onError();
    if (!toClient) return;
    this.io.toClient(hook?.rewrite ? errorResponseFromFields(hook.rewrite(fields)) : errorMessage(body));
  }

  private onReady(b: B, match: Match, status: number): void {
    if (match === Match.Client && this.mode !== Mode.Draining) {
      const before = this.settings.differs(b.params);
      this.settings.onReady(status, b.params);
      if (this.pin && !before && this.settings.differs(b.params)) this.resync = true;
    }
    this.settle(b);
  }

  /** A cancel forwarded for this session's backend is done. */
  onCancelDone(b: B): void {
    if (this.backend === b) this.settle(b);
  }

  /**
   * The one release rule: a backend goes back to the pool only when its ledger is idle (nothing
   * owed, ReadyForQuery `I`) and no cancel for it is in flight; a pinned one only once drained.
   */
  private settle(b: B): void {
    if (this.mode === Mode.Draining) return this.drain(b);
    if (!releasable(b)) return;
    if (this.mode === Mode.Linked) {
      this.unlink();
      this.go(Mode.Idle);
      this.io.release(b);
      if (this.closeAfterUnit) this.end({ severity: 'FATAL', code: '57P01', message: 'terminating connection due to administrator command' });
    } else if (this.mode === Mode.Pinned && this.closeAfterUnit) {
      this.io.end({ severity: 'FATAL', code: '57P01', message: 'terminating connection due to administrator command' });
      this.clientOpen = false;
      this.clientDone = true;
      this.leave();
    }
  }

  // ------------------------------------------------------------------ ending

  /** The client will send nothing more: bring its backend back to idle before anyone else gets it. */
  private leave(): void {
    this.go(Mode.Draining);
    this.statements.retireAll();
    this.drain(this.backend!);
  }

  /**
   * Replies owed to what the client sent before its Terminate still go to it — those the server
   * will send: what waits for a Flush or Sync never comes, on PostgreSQL either.
   */
  get awaitingReplies(): boolean {
    const l = this.backend?.ledger;
    return this.mode === Mode.Draining && this.clientOpen && !this.cleaning && l !== undefined && l.owes() && !l.awaitsFlush();
  }

  private drain(b: B): void {
    if (this.awaitingReplies) return;
    if (this.clientOpen) {
      this.clientOpen = false;
      this.io.end();
    }
    const step = drainStep(b, this.pin?.reason, this.reset, this.cleaning);
    switch (step.kind) {
      case 'wait':
        return;
      case 'send':
        this.cleaning = true;
        if (step.reset) this.reset = true;
        for (const [bytes, req, hook] of step.requests) this.send(bytes, req, hook);
        return;
      case 'release':
        this.unlink();
        this.go(Mode.Closed);
        return this.io.release(b);
      case 'discard':
        return this.dropBackend(step.reason);
    }
  }

  /** Draining took too long. */
  onDrainTimeout(): void {
    if (this.mode === Mode.Draining) this.dropBackend('cleaning took too long');
  }

  private dropBackend(reason: string): void {
    const b = this.backend!;
    this.unlink();
    this.go(Mode.Closed);
    this.io.discard(b, reason);
  }

  /** The backend died under this session (failover, server restart, network). */
  onBackendLost(reason: string): void {
    const b = this.backend;
    if (b === undefined) return;
    const ledger = b.ledger;
    const outstanding = ledger.outstanding();
    const skipping = ledger.mode === ServerMode.Skip;
    const inTxn = ledger.status !== I;
    this.unlink();
    ledger.clear();
    if (this.mode === Mode.Draining) {
      if (this.clientOpen) this.io.end();
      return this.go(Mode.Closed);
    }
    if (this.serverFatal) return this.finish();
    if (this.mode === Mode.Pinned) {
      const why = this.pin!.reason;
      return this.end({
        severity: 'FATAL',
        code: '08006',
        message: `the database connection was lost (${reason}) and this session's state (${why}) cannot be moved to another connection`,
      });
    }
    this.settings.dropTransaction();
    const replies = failRequests(outstanding, lostError(reason, inTxn), inTxn ? 'E' : 'I', skipping);
    if (replies.bytes.length > 0) this.io.toClient(Buffer.concat(replies.bytes));
    if (replies.openBatch) this.discardUntilSync(inTxn ? Mode.FailedTransaction : Mode.Idle, inTxn ? 'E' : 'I');
    else this.go(inTxn ? Mode.FailedTransaction : Mode.Idle);
  }

  /** Graceful shutdown: close now if nothing runs, else after the current unit of work. */
  closeWhenIdle(): void {
    if (this.mode === Mode.Idle || this.mode === Mode.FailedTransaction || this.mode === Mode.DiscardUntilSync) {
      return this.end({ severity: 'FATAL', code: '57P01', message: 'terminating connection due to administrator command' });
    }
    this.closeAfterUnit = true;
    if (this.mode === Mode.Pinned && this.backend && releasable(this.backend)) this.settle(this.backend);
  }

  /** Ends the session with a FATAL error (protocol violation, idle timeout, shutdown). */
  end(fatal?: ErrorInfo): void {
    if (this.mode === Mode.Closed) return;
    this.io.end(fatal);
    this.clientOpen = false;
    this.clientDone = true;
    if (this.mode === Mode.Linked || this.mode === Mode.Pinned) return this.leave();
    if (this.mode === Mode.Draining) return;
    this.finish();
  }

  private finish(): void {
    if (this.mode === Mode.Waiting || this.mode === Mode.Welcoming) this.io.cancelBorrow();
    this.pending = [];
    this.statements.retireAll();
    this.clientOpen = false;
    this.io.end();
    this.go(Mode.Closed);
  }

  /** After an exception in this session: it is over; the join closes the backend it held. */
  abort(): void {
    this.unlink();
    this.pending = [];
    this.statements.retireAll();
    if (this.mode !== Mode.Closed) this.go(Mode.Closed);
  }

  /** Whether a CancelRequest may reach the backend now: only while this client's request runs on it. */
  cancelTarget(): B | undefined {
    if ((this.mode === Mode.Linked || this.mode === Mode.Pinned) && !this.backend!.ledger.quiet()) return this.backend;
    return undefined;
  }

  private unlink(): void {
    this.backend = undefined;
  }

  private go(to: Mode): void {
    this.mode = transition(this.mode, to);
  }
}

function releasable(b: BackendState): boolean {
  return b.ledger.idle() && b.cancels === 0 && !b.statements.unknown;
}

const SYNC = Buffer.from([0x53, 0, 0, 0, 4]);

/** FATAL codes of a server going down: for the proxy a lost backend (failover), not the client's end. */
const SHUTDOWN = new Set(['57P01', '57P02', '57P03']);

/** An ErrorResponse from its body, as the server sent it. */
function errorMessage(body: Buffer): Buffer {
  const out = Buffer.allocUnsafe(5 + body.length);
  out[0] = Code.Execute;
  out.writeInt32BE(4 + body.length, 1);
  body.copy(out, 5);
  return out;
}
