/**
 * The reply ledger: a model of one backend's input queue, advanced by the replies PostgreSQL sends.
 * Every message forwarded to the server is recorded; each server message is matched to the request
 * it answers, following the rules of the protocol (PROTOCOL.md): after an error in the extended
 * protocol everything up to Sync is skipped (a simple Query too); Flush and stray COPY messages owe
 * nothing; during COPY FROM STDIN the server ignores Sync and Flush. A backend may go to another
 * client only when `idle()`: nothing owed and the last ReadyForQuery said `I`.
 */

import { BackendCode } from '../protocol/messages.js';
import { isExtended, Match, Outcome, Req, ServerMode, silent, type Hook } from './requests.js';

export { describeReq, isExtended, Match, Outcome, reqOf, Req, ServerMode, type Hook } from './requests.js';

/** Past this many slots an emptied ledger lets its arrays go instead of reusing them. */
const SPARE_LIMIT = 256;

export class ReplyLedger {
  private reqs: Req[] = [];
  private hooks: (Hook | undefined)[] = [];
  private head = 0;
  /**
   * The end of the queue: the arrays are reused, not truncated, when it empties (setting an array's
   * length is a runtime call, and this happens once per unit of work); slots from `tail` on are spare.
   */
  private tail = 0;
  mode = ServerMode.Ready;
  /** Status byte of the last ReadyForQuery: `I`, `T` or `E`. */
  status = 0x49;
  /** An ErrorResponse arrived during the current simple Query (for settings that only count on success). */
  queryFailed = false;
  /** The model lost track (COPY both ways, Sync inside COPY data that failed): never reuse this backend. */
  unreliable = false;
  /** Set by `begin`: the request the message being read answers (index), or -1. */
  private current = -1;
  private sawParameterDescription = false;

  get length(): number {
    return this.tail - this.head;
  }

  /** Records a request forwarded to the server. */
  push(r: Req, hook?: Hook): void {
    this.reqs[this.tail] = r;
    this.hooks[this.tail] = hook;
    this.tail++;
  }

  /** Nothing owed and no transaction or batch open: the backend can serve another client. */
  idle(): boolean {
    return this.status === 0x49 && !this.unreliable && this.quiet();
  }

  /** Nothing owed (a transaction block may be open): a request of the client is not running. */
  quiet(): boolean {
    return this.mode === ServerMode.Ready && !this.owes();
  }

  /** Some request still has replies to come. */
  owes(): boolean {
    if (this.mode === ServerMode.Query || this.mode === ServerMode.CopyIn || this.mode === ServerMode.CopyOut) return true;
    for (let i = this.head; i < this.tail; i++) if (!silent(this.reqs[i]!, this.mode)) return true;
    return false;
  }

  /**
   * An extended-protocol batch is open and nothing queued will close it: a Sync, or a Query or
   * FunctionCall — except while the server skips to Sync after an error, when it skips those too.
   */
  awaitsSync(): boolean {
    const skipping = this.mode === ServerMode.Skip;
    for (let i = this.tail - 1; i >= this.head; i--) {
      const r = this.reqs[i]!;
      if (r === Req.Sync) return false;
      if (!skipping && (r === Req.Query || r === Req.FunctionCall)) return false;
      if (isExtended(r)) return true;
    }
    return this.mode === ServerMode.Batch || skipping;
  }

  /**
   * The server holds replies back until a Flush or Sync: the last requests are extended-protocol
   * messages with neither after them (it sends nothing of them before the client asks).
   */
  awaitsFlush(): boolean {
    for (let i = this.tail - 1; i >= this.head; i--) {
      const r = this.reqs[i]!;
      if (r === Req.Sync || r === Req.Query || r === Req.FunctionCall || r === Req.Flush) return false;
      if (isExtended(r)) return true;
    }
    return false;
  }

  /** COPY FROM STDIN is running and nothing queued ends it. */
  awaitsCopyEnd(): boolean {
    if (this.mode !== ServerMode.CopyIn) return false;
    for (let i = this.head + 1; i < this.tail; i++) {
      const r = this.reqs[i]!;
      if (r !== Req.CopyData && r !== Req.Sync && r !== Req.Flush) return false;
    }
    return true;
  }

  /** At the first byte of a server message: whose reply is it. */
  begin(type: number): Match {
    if (type === BackendCode.NoticeResponse || type === BackendCode.ParameterStatus || type === BackendCode.NotificationResponse) {
      this.current = -1;
      return Match.Async;
    }
    this.settle();
    this.current = this.head < this.tail ? this.head : -1;
    if (this.current < 0) return Match.Unexpected;
    return this.hooks[this.current]?.injected ? Match.Injected : Match.Client;
  }

  /** The hook of the request the message being read answers (after `begin`). */
  currentHook(): Hook | undefined {
    return this.current < 0 ? undefined : this.hooks[this.current];
  }

  /** At the end of a server message. `status` is the ReadyForQuery byte. False: out of step. */
  end(type: number, status = 0): boolean {
    if (type === BackendCode.NoticeResponse || type === BackendCode.ParameterStatus || type === BackendCode.NotificationResponse) return true;
    if (this.current < 0 || this.current !== this.head) return false;
    const r = this.reqs[this.head]!;
    switch (this.mode) {
      case ServerMode.CopyIn:
        return this.inCopyIn(r, type);
      case ServerMode.CopyOut:
        return this.inCopyOut(r, type);
      case ServerMode.Query:
        return this.inQuery(type, status);
      default:
        return this.answer(r, type, status);
    }
  }

  /** The requests not yet answered, oldest first (to answer them when the backend is gone). */
  outstanding(): Req[] {
    this.settle();
    return this.reqs.slice(this.head, this.tail);
  }

  /** Forgets everything (the backend is gone), telling every hook its request failed. */
  clear(): void {
    for (let i = this.head; i < this.tail; i++) this.hooks[i]?.done?.(Outcome.Failed);
    this.reqs = [];
    this.hooks = [];
    this.head = 0;
    this.tail = 0;
    this.mode = ServerMode.Ready;
  }

  // ------------------------------------------------------------------ matching

  private answer(r: Req, type: number, status: number): boolean {
    if (r === Req.Query || r === Req.FunctionCall) {
      this.mode = ServerMode.Query;
      this.queryFailed = false;
      return this.inQuery(type, status);
    }
    if (r === Req.Sync) {
      // An error at Sync (a deferred constraint failing the implicit commit) still ends with Z.
      if (type === BackendCode.ErrorResponse) return true;
      return type === BackendCode.ReadyForQuery && this.ready(status);
    }
    if (type === BackendCode.ErrorResponse) return this.failed(r);
    switch (r) {
      case Req.Parse:
        return this.expect(type === BackendCode.ParseComplete);
      case Req.Bind:
        return this.expect(type === BackendCode.BindComplete);
      case Req.Close:
        return this.expect(type === BackendCode.CloseComplete);
      case Req.DescribeStatement:
        if (type === BackendCode.ParameterDescription && !this.sawParameterDescription) return (this.sawParameterDescription = true);
        if (!this.sawParameterDescription) return false;
        this.sawParameterDescription = false;
        return this.expect(type === BackendCode.RowDescription || type === BackendCode.NoData);
      case Req.DescribePortal:
        return this.expect(type === BackendCode.RowDescription || type === BackendCode.NoData);
      case Req.Execute:
        return this.onExecute(type);
      default:
        return false;
    }
  }

  private onExecute(type: number): boolean {
    if (this.copyStarts(type)) return true;
    switch (type) {
      case BackendCode.DataRow:
        this.mode = ServerMode.Batch;
        return true;
      case BackendCode.CommandComplete:
      case BackendCode.EmptyQueryResponse:
      case BackendCode.PortalSuspended:
        return this.expect(true);
      default:
        return false;
    }
  }

  /** CopyInResponse / CopyOutResponse start a COPY; COPY both ways (replication) cannot be followed. */
  private copyStarts(type: number): boolean {
    if (type === BackendCode.CopyInResponse) this.mode = ServerMode.CopyIn;
    else if (type === BackendCode.CopyOutResponse) this.mode = ServerMode.CopyOut;
    else if (type === BackendCode.CopyBothResponse) this.unreliable = true;
    else return false;
    return true;
  }

  private inQuery(type: number, status: number): boolean {
    if (type === BackendCode.ReadyForQuery) return this.ready(status);
    if (type === BackendCode.ErrorResponse) this.queryFailed = true;
    else this.copyStarts(type);
    return true; // and RowDescription, DataRow, CommandComplete, EmptyQueryResponse, FunctionCallResponse
  }

  private inCopyOut(r: Req, type: number): boolean {
    if (type === BackendCode.CopyData || type === BackendCode.CopyDone) return true;
    if (type === BackendCode.CommandComplete) {
      if (r === Req.Execute) return this.expect(true);
      this.mode = ServerMode.Query;
      return true;
    }
    if (type === BackendCode.ErrorResponse) {
      if (r === Req.Execute) return this.failed(r);
      this.mode = ServerMode.Query;
      this.queryFailed = true;
      return true;
    }
    return false;
  }

  /** COPY FROM STDIN ends with CommandComplete (after CopyDone) or an error. */
  private inCopyIn(r: Req, type: number): boolean {
    if (type !== BackendCode.CommandComplete && type !== BackendCode.ErrorResponse) return false;
    this.consumeCopyInput(type === BackendCode.ErrorResponse);
    if (r === Req.Execute) return type === BackendCode.ErrorResponse ? this.failed(r) : this.expect(true);
    this.mode = ServerMode.Query;
    if (type === BackendCode.ErrorResponse) this.queryFailed = true;
    return true;
  }

  /**
   * The messages the server read as COPY input: CopyData, and Sync/Flush (ignored), up to the
   * CopyDone/CopyFail or the other message that ended the copy. After an error in the middle of the
   * data, a later Sync may have been read after the copy ended: which one cannot be known.
   */
  private consumeCopyInput(failed: boolean): void {
    let sawData = false;
    let i = this.head + 1;
    for (; i < this.tail; i++) {
      const r = this.reqs[i]!;
      if (r === Req.CopyData) sawData = true;
      else if (r === Req.Sync && failed && sawData) {
        this.unreliable = true;
        break;
      } else if (r !== Req.Sync && r !== Req.Flush) {
        i++; // CopyDone, CopyFail, or the message that aborted the copy
        break;
      }
    }
    const consumed = this.reqs.splice(this.head + 1, i - this.head - 1);
    const hooks = this.hooks.splice(this.head + 1, consumed.length);
    this.tail -= consumed.length;
    for (const h of hooks) h?.done?.(failed ? Outcome.Failed : Outcome.Ok);
  }

  private expect(ok: boolean): boolean {
    if (!ok) return false;
    this.mode = ServerMode.Batch;
    this.pop(Outcome.Ok);
    return true;
  }

  private failed(r: Req): boolean {
    if (!isExtended(r)) return false;
    this.mode = ServerMode.Skip;
    this.pop(Outcome.Failed);
    return true;
  }

  private ready(status: number): boolean {
    this.status = status;
    this.mode = ServerMode.Ready;
    this.pop(Outcome.Ok);
    return true;
  }

  private pop(outcome: Outcome): void {
    const hook = this.hooks[this.head];
    this.reqs[this.head] = Req.Flush;
    this.hooks[this.head] = undefined;
    this.head++;
    if (this.head === this.tail) {
      this.head = 0;
      this.tail = 0;
      // A long pipeline's storage is not kept for the backend's life.
      if (this.reqs.length > SPARE_LIMIT) {
        this.reqs = [];
        this.hooks = [];
      }
    } else if (this.head > 64 && this.head * 2 > this.tail) {
      this.reqs = this.reqs.slice(this.head, this.tail);
      this.hooks = this.hooks.slice(this.head, this.tail);
      this.tail -= this.head;
      this.head = 0;
    }
    hook?.done?.(outcome);
  }

  /** Drops the requests the server consumed without a reply before whatever comes next. */
  private settle(): void {
    while (this.head < this.tail && this.mode !== ServerMode.CopyIn && this.mode !== ServerMode.Query && this.mode !== ServerMode.CopyOut) {
      const r = this.reqs[this.head]!;
      if (!silent(r, this.mode)) return;
      this.pop(this.mode === ServerMode.Skip ? Outcome.Skipped : Outcome.Ok);
    }
  }
}
