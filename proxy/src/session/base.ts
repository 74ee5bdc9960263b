/**
 * The part of the session machine that holds no backend: the session's fields and modes, what it
 * answers itself (idle, a transaction cut by a failover, a batch discarded to its Sync), and how it
 * ends. machine.ts adds the linked side: borrowing, forwarding, the server's replies, release.
 */
import { FrontendCode, type ErrorInfo } from '../protocol/messages.js';
import { retain, type FrontendMessage } from './frontend.js';
import type { BackendState, MachineContext, SessionIO } from './io.js';
import { SettingsTracker } from './settings.js';
import { ClientStatements } from './statements.js';
import { Mode, transition } from './state.js';
import { discarding, inFailedTransaction, whenIdle, type Answer } from './unlinked.js';

type AfterSync = { readonly mode: Mode.Idle | Mode.FailedTransaction; readonly status: 'I' | 'E' };
/** No message waiting, shared by every session (frozen: a push to it throws instead of leaking). */
const NONE_PENDING = Object.freeze([]) as unknown as FrontendMessage[];
const BACK_TO_IDLE: AfterSync = { mode: Mode.Idle, status: 'I' };

export abstract class SessionBase<B extends BackendState> {
  mode: Mode;
  backend: B | undefined;
  pin: { reason: string; rule: string } | undefined;
  readonly settings: SettingsTracker;
  readonly statements = new ClientStatements();
  /** Messages of a unit of work that arrived before a backend was linked. */
  protected pending: FrontendMessage[] = NONE_PENDING;
  /** The client sent Terminate or closed: nothing more will come from it. */
  protected clientDone = false;
  /** The client's connection is still open: replies to what it sent before Terminate reach it. */
  clientOpen = true;
  protected closeAfterUnit = false;
  /** After DiscardUntilSync: the mode and status the Sync returns to. */
  private afterSync: AfterSync = BACK_TO_IDLE;

  constructor(
    startupParams: ReadonlyMap<string, string>,
    protected readonly ctx: MachineContext,
    protected readonly io: SessionIO<B>,
    welcoming: boolean,
  ) {
    this.settings = new SettingsTracker(startupParams);
    this.mode = welcoming ? Mode.Welcoming : Mode.Idle;
  }

  /** One client message for the linked backend. */
  protected abstract forward(m: FrontendMessage): void;
  /** The client will send nothing more: its backend is brought back to idle. */
  protected abstract leave(): void;
  protected abstract drain(b: B): void;

  // ------------------------------------------------------------------ client events

  onClientMessage(m: FrontendMessage): void {
    switch (this.mode) {
      case Mode.Welcoming:
      case Mode.Waiting:
        if (this.clientDone) return;
        this.queue(retain(m));
        if (m.type === FrontendCode.Terminate) this.clientDone = true;
        return;
      case Mode.Linked:
      case Mode.Pinned:
        return this.forward(m);
      case Mode.Idle:
        return this.apply(whenIdle(m), m);
      case Mode.FailedTransaction:
        return this.apply(inFailedTransaction(m, (sql) => this.ctx.decide(sql)));
      case Mode.DiscardUntilSync:
        return this.apply(discarding(m, this.afterSync));
      default:
        return; // Draining, Closed: after Terminate nothing is read
    }
  }

  /** Keeps `m` until a backend is linked (the first one makes the array). */
  protected queue(m: FrontendMessage): void {
    if (this.pending === NONE_PENDING) this.pending = [m];
    else this.pending.push(m);
  }

  /** Forgets the messages waiting (they were handed on or answered). */
  protected takePending(): FrontendMessage[] {
    const p = this.pending;
    this.pending = NONE_PENDING;
    return p;
  }

  /** The size of the messages waiting for a backend, each with its bookkeeping: the session caps it. */
  queuedBytes(): number {
    // After every event, for every session: an indexed loop (for-of is not inlined here).
    const p = this.pending;
    let n = 0;
    for (let i = 0; i < p.length; i++) n += p[i]!.end - p[i]!.start + 64;
    return n;
  }

  /** Carries out an answer given without a backend. */
  protected apply(a: Answer, m?: FrontendMessage): void {
    if (a.bytes) this.io.toClient(a.bytes);
    if (a.finish) return this.finish();
    if (a.discardUntilSync) return this.discardUntilSync(a.discardUntilSync.after, a.discardUntilSync.status);
    if (a.next) this.go(a.next);
    if (a.borrow) {
      this.queue(m!);
      this.go(Mode.Waiting);
      this.io.borrow();
      // Kept past this event only when no backend came at once: then the bytes need their own copy.
      if (this.mode === Mode.Waiting) this.pending = this.pending.map(retain);
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

  protected discardUntilSync(after: Mode.Idle | Mode.FailedTransaction, status: 'I' | 'E'): void {
    this.afterSync = { mode: after, status };
    this.go(Mode.DiscardUntilSync);
  }

  // ------------------------------------------------------------------ ending

  /** Ends the session with a FATAL error (protocol violation, idle timeout, shutdown). */
  end(fatal?: ErrorInfo): void {
    if (this.mode === Mode.Closed) return;
    this.io.end(fatal);
    this.clientOpen = false;
    this.clientDone = true;
    // A backend that is gone (lost under a pinned session) has nothing to drain.
    if ((this.mode === Mode.Linked || this.mode === Mode.Pinned) && this.backend !== undefined) return this.leave();
    if (this.mode === Mode.Draining) return;
    this.finish();
  }

  protected finish(): void {
    if (this.mode === Mode.Waiting || this.mode === Mode.Welcoming) this.io.cancelBorrow();
    this.pending = NONE_PENDING;
    this.statements.retireAll();
    this.clientOpen = false;
    this.io.end();
    this.go(Mode.Closed);
  }

  /** After an exception in this session: it is over; the join closes the backend it held. */
  abort(): void {
    if (this.mode === Mode.Waiting || this.mode === Mode.Welcoming) this.io.cancelBorrow();
    this.unlink();
    this.pending = NONE_PENDING;
    this.statements.retireAll();
    if (this.mode !== Mode.Closed) this.go(Mode.Closed);
  }

  /** Whether a CancelRequest may reach the backend now: only while this client's request runs on it. */
  cancelTarget(): B | undefined {
    if ((this.mode === Mode.Linked || this.mode === Mode.Pinned) && !this.backend!.ledger.quiet()) return this.backend;
    return undefined;
  }

  protected unlink(): void {
    this.backend = undefined;
  }

  protected go(to: Mode): void {
    this.mode = transition(this.mode, to);
  }
}
