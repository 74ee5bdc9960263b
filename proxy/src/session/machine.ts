/**
 * The session machine: one client's protocol state, with no sockets. Events come in (a client
 * message, a backend from the pool, a server message, a lost backend); effects go out through
 * `SessionIO` (bytes for the client or the backend, borrow, release, close). This file is the
 * linked side — borrowing, forwarding, the server's replies, the one release rule, draining; the
 * rest (modes without a backend, ending) is base.ts. client/session.ts joins it to sockets.
 */
import type { Decision } from '../pinning/index.js';
import { FrontendCode, BackendCode, decodeCommandComplete } from '../protocol/messages.js';
import { SessionBase } from './base.js';
import { drainStep } from './drain.js';
import type { FrontendMessage } from './frontend.js';
import type { BackendState, MachineContext, SessionIO } from './io.js';
import { Forwarder } from './forward.js';
import { Match, ServerMode, type Hook } from './ledger.js';
import { isLoneBegin, MAX_REPLAYS, onlyItUnanswered, queryMessage } from './replay.js';
import { ADMIN_SHUTDOWN } from './replies.js';
import { routeError } from './server-errors.js';
import { Mode } from './state.js';
import { backendLost, borrowFailed } from './unlinked.js';

export type { BackendState, MachineContext, SessionIO } from './io.js';

export class SessionMachine<B extends BackendState> extends SessionBase<B> {
  private readonly fwd: Forwarder<B>;
  /** The server sent a FATAL error for the client's request: the client ends with it, as on PostgreSQL. */
  private serverFatal = false;
  /**
   * The server, going down, ended the request with a FATAL the client was not shown (it stays for
   * the next writer): its batch still owes the client an error, and a lone BEGIN that had no other
   * reply (`before-reply`) may still be replayed.
   */
  private untoldShutdown: 'before-reply' | 'mid-reply' | undefined;
  /** Pinned session, after a RESET that needs the startup value restored at the next boundary. */
  private resync = false;
  /** Draining: the proxy sent cleanup requests; DISCARD ALL among them. */
  private cleaning = false;
  private reset = false;
  private match = Match.Client;
  /**
   * The SQL of the unit's first request while it is a lone BEGIN: if the backend dies before
   * answering it, it runs again on the next backend instead of failing (nothing of it can have
   * lasted). Cleared by the next request.
   */
  private replayable: string | undefined;
  /** Replays of the current BEGIN: bounded, for a server that keeps dying under it. */
  private replays = 0;

  constructor(startupParams: ReadonlyMap<string, string>, ctx: MachineContext, io: SessionIO<B>, welcoming: boolean) {
    super(startupParams, ctx, io, welcoming);
    this.fwd = new Forwarder(io, ctx, this.settings, this.statements, this);
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
        else if (this.closeAfterUnit) this.end(ADMIN_SHUTDOWN);
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
    const a = borrowFailed(this.takePending(), err);
    if (a.bytes) this.io.toClient(a.bytes);
    if (this.clientDone) return this.finish();
    this.apply({ ...a, bytes: undefined });
  }

  private link(b: B): void {
    this.backend = b;
    this.go(this.pin ? Mode.Pinned : Mode.Linked);
    this.fwd.prepare(b);
    for (const m of this.takePending()) {
      if (this.mode !== Mode.Linked && this.mode !== Mode.Pinned) break;
      this.forward(m);
    }
    if (this.clientDone && (this.mode === Mode.Linked || this.mode === Mode.Pinned)) this.leave();
  }

  /** One client message for the linked backend. */
  protected forward(m: FrontendMessage): void {
    const b = this.backend!;
    if (this.resync && b.ledger.quiet()) {
      this.resync = false;
      this.fwd.prepare(b);
    }
    this.replayable = m.type === FrontendCode.Query && this.mode === Mode.Linked && b.ledger.length === 0 && isLoneBegin(m.sql) ? m.sql : undefined;
    if (m.type !== FrontendCode.Terminate) return this.fwd.forward(b, m);
    this.clientDone = true;
    this.leave();
  }

  /** DecisionSink: what the classifier decided for SQL the client sent. */
  applyDecision(d: Decision): void {
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
    if (type === BackendCode.ErrorResponse) return false;
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

  /**
   * At the end of each server message; its body, `buf[start, end)`, is there for the types the join
   * collects (a view of the read, valid during this call: sliced only where it is decoded).
   */
  onServerEnd(type: number, buf: Buffer, start = 0, end = buf.length): void {
    const b = this.backend!;
    const hook = b.ledger.currentHook();
    const match = this.match;
    if (type === BackendCode.ErrorResponse) this.onServerError(b, hook, match, buf.subarray(start, end));
    else if (type === BackendCode.CommandComplete && match === Match.Client && this.settings.tracking) {
      this.settings.onCommandComplete(decodeCommandComplete(buf.subarray(start, end)));
    }
    const status = type === BackendCode.ReadyForQuery ? buf[start]! : 0;
    if (!b.ledger.end(type, status)) {
      this.io.warn({ backend: b.id, type: String.fromCharCode(type) }, 'the database reply does not fit the request: the connection will not be reused');
      b.ledger.unreliable = true;
    }
    if (this.backend !== b) return;
    if (type === BackendCode.ReadyForQuery) this.onReady(b, match, status);
    else if (this.mode === Mode.Draining && this.clientOpen && !b.ledger.owes()) this.drain(b);
  }

  private onServerError(b: B, hook: Hook | undefined, match: Match, body: Buffer): void {
    const route = routeError(body, hook, match);
    if (route.fatal) b.ledger.unreliable = true;
    if (route.fatal === 'client') this.serverFatal = true;
    // (While the server skips to Sync the batch's error was already told: nothing is owed.)
    if (route.fatal === 'shutdown' && b.ledger.mode !== ServerMode.Skip)
      this.untoldShutdown = b.ledger.mode === ServerMode.Ready ? 'before-reply' : 'mid-reply';
    if (route.clientError) this.settings.onError();
    if (route.readOnly) this.io.serverReadOnly();
    const toClient = this.clientOpen && (this.mode !== Mode.Draining || match !== Match.Injected);
    if (route.forward && toClient) this.io.toClient(route.forward);
  }

  private onReady(b: B, match: Match, status: number): void {
    this.replays = 0;
    if (match === Match.Client && this.mode !== Mode.Draining) {
      // Only a pinned session keeps its backend across units: others are synced at their next borrow.
      const before = this.pin !== undefined && this.settings.differs(b.params);
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
      if (this.closeAfterUnit) this.end(ADMIN_SHUTDOWN);
    } else if (this.mode === Mode.Pinned && this.closeAfterUnit) {
      this.io.end(ADMIN_SHUTDOWN);
      this.clientOpen = false;
      this.clientDone = true;
      this.leave();
    }
  }

  // ------------------------------------------------------------------ ending

  /** The client will send nothing more: bring its backend back to idle before anyone else gets it. */
  protected leave(): void {
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
    // biome-ignore lint/complexity/useOptionalChain: `l?.owes()` would make the getter boolean | undefined
    return this.mode === Mode.Draining && this.clientOpen && !this.cleaning && l !== undefined && l.owes() && !l.awaitsFlush();
  }

  protected drain(b: B): void {
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
        for (const [bytes, req, hook] of step.requests) this.fwd.sendOn(b, bytes, req, hook);
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
    const untold = this.untoldShutdown;
    this.untoldShutdown = undefined;
    if (this.replayBegin(b, untold === 'before-reply')) return;
    const answer = backendLost(b.ledger, reason, { batchErrorTold: untold === undefined });
    this.unlink();
    b.ledger.clear();
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
    this.apply(answer);
  }

  /**
   * A lone BEGIN, the unit's only request, died unanswered with its backend (a pooled connection
   * whose server had just gone): it waits for the next backend, as if it had never been sent.
   */
  private replayBegin(b: B, onlyShutdownSeen: boolean): boolean {
    const sql = this.replayable;
    this.replayable = undefined;
    if (sql === undefined || this.mode !== Mode.Linked || !onlyItUnanswered(b.ledger, onlyShutdownSeen)) return false;
    if (this.replays === MAX_REPLAYS) {
      this.replays = 0;
      return false;
    }
    this.replays++;
    this.unlink();
    b.ledger.clear();
    this.pending = [queryMessage(sql), ...this.pending];
    this.go(Mode.Waiting);
    this.io.borrow();
    return true;
  }

  /** Graceful shutdown: close now if nothing runs, else after the current unit of work. */
  closeWhenIdle(): void {
    if (this.mode === Mode.Idle || this.mode === Mode.FailedTransaction || this.mode === Mode.DiscardUntilSync) {
      return this.end(ADMIN_SHUTDOWN);
    }
    this.closeAfterUnit = true;
    if (this.mode === Mode.Pinned && this.backend && releasable(this.backend)) this.settle(this.backend);
  }
}

function releasable(b: BackendState): boolean {
  return b.ledger.idle() && b.cancels === 0 && !b.statements.unknown;
}
