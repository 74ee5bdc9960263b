/**
 * A client session's side toward its backend: the pool's waiter, the backend's owner and the
 * scanner's visitor. Server bytes reach the client in order (messages the machine rewrites are
 * inserted where they belong), and a backend changes hands only after the chunk being scanned has
 * been written to the client.
 */
import { performance } from 'node:perf_hooks';
import type { BackendConnection, BackendOwner } from '../backend/connection.js';
import type { Conn } from '../io/conn.js';
import type { BorrowError, Waiter } from '../pool/pool.js';
import type { ServerMessageVisitor } from '../protocol/server-scanner.js';
import type { SessionMachine } from '../session/machine.js';
import { Mode } from '../session/state.js';
import type { PoolHandle, SessionContext } from './context.js';
import type { Flow } from './flow.js';
import { borrowFailureReason, type SetupFailure } from './setup-failure.js';

/** What the side needs of its session (client/session.ts). */
export interface SessionLink {
  readonly machine: SessionMachine<BackendConnection> | undefined;
  readonly handle: PoolHandle | undefined;
  readonly ended: boolean;
  readonly conn: Conn;
  readonly flow: Flow;
  readonly ctx: SessionContext;
  readonly user: string;
  readonly database: string;
  /** Runs one event of the session; an exception ends the session only. */
  guard(f: () => void, from?: BackendConnection): void;
  /** guard() written out, for the hot path: after the event, and when it threw. */
  afterEvent(): void;
  failed(err: unknown, from?: BackendConnection): void;
  /** The connection is refused before its welcome (counted once). */
  setupFailed(reason: SetupFailure): void;
}

/**
 * Epoch milliseconds from the monotonic clock, fractional: lastUsed reads as a time of day (SHOW
 * SERVERS) and, subtracted, gives sub-millisecond latencies that a stepped wall clock cannot skew.
 * (`performance` imported: the global one is a getter, looked up on every call.)
 */
const EPOCH_MS = performance.timeOrigin;
const clockMs = (): number => EPOCH_MS + performance.now();

export class BackendSide implements Waiter<BackendConnection>, BackendOwner, ServerMessageVisitor {
  /** Set while a backend chunk is being scanned: output goes in order through the scanner. */
  private scanning: BackendConnection | undefined;
  private afterScan: (() => void)[] | undefined;

  constructor(private readonly s: SessionLink) {}

  /** Bytes for the client: in order with the chunk being scanned, if one is. */
  toClient(bytes: Buffer): void {
    if (this.scanning) this.scanning.scanner.insert(bytes);
    else if (!this.s.ended) this.writeClient(bytes);
  }

  /** After an exception: nothing of the chunk being scanned is carried out. */
  abandon(): void {
    this.scanning = undefined;
    this.afterScan = undefined;
  }

  /** Runs `f` after the backend chunk being scanned is written (now if none is). */
  later(f: () => void): void {
    if (this.scanning) (this.afterScan ??= []).push(f);
    else f();
  }

  giveBack(b: BackendConnection, discardReason: string | undefined): void {
    // What this session sent goes out before anyone else's bytes, or the Terminate that closes it.
    this.s.flow.flushFor(b, this.s.ended ? undefined : this.s.conn);
    // A unit of work ends here (ReadyForQuery gave the backend back): its latency, from the one
    // clock read that also stamps lastUsed. Not for a pinned session (this is its whole life), nor
    // for a backend the session never linked (the welcome's borrow: owner was never set).
    const now = clockMs();
    if (b.owner === this && discardReason === undefined && this.s.machine?.pin === undefined) {
      this.s.handle!.metrics?.queryLatency.observe((now - b.lastUsed) / 1000);
    }
    this.detach(b, now);
    if (b.stray && discardReason === undefined) discardReason = 'the server sent a reply the proxy did not expect';
    if (discardReason !== undefined) {
      this.s.ctx.log.info({ backend: b.id, reason: discardReason }, 'closing a database connection instead of reusing it');
      b.destroy();
      this.s.handle!.pool.remove(b);
    } else {
      this.s.handle!.pool.release(b);
    }
  }

  private writeClient(bytes: Buffer): void {
    this.s.flow.toClient(this.s.conn, bytes, this.s.machine?.backend);
  }

  onBackend(backend: BackendConnection): void {
    this.s.guard(() => {
      // The request goes out now (the machine forwards what waited for a backend).
      backend.lastUsed = clockMs();
      this.s.machine!.onBackend(backend);
      if (this.s.machine!.backend === backend) {
        backend.owner = this;
        backend.scanner.setVisitor(this);
      }
    });
  }

  onBorrowError(err: BorrowError): void {
    if (this.s.machine?.mode === Mode.Welcoming) this.s.setupFailed(borrowFailureReason(err));
    if (this.s.machine?.mode === Mode.Waiting) this.s.ctx.log.warn({ user: this.s.user, database: this.s.database, err: err.message }, 'borrow failed');
    this.s.guard(() => this.s.machine!.onBorrowError(err));
  }

  onBackendData(chunk: Buffer): void {
    const b = this.s.machine?.backend;
    if (b === undefined) return;
    // The session's guard() written out: no closure made for every chunk.
    try {
      this.scan(b, chunk);
      this.s.afterEvent();
    } catch (err) {
      this.s.failed(err, b);
    }
  }

  private scan(b: BackendConnection, chunk: Buffer): void {
    this.scanning = b;
    let whole: boolean;
    try {
      whole = b.scanner.scan(chunk);
    } finally {
      this.scanning = undefined;
    }
    if (!this.s.ended) {
      if (whole) this.writeClient(chunk);
      else for (const part of b.scanner.out) this.writeClient(part);
    }
    if (this.afterScan !== undefined) {
      const after = this.afterScan;
      this.afterScan = undefined;
      for (const f of after) f();
    }
  }

  /**
   * Scanner visitor. The machine may let go of the backend in the middle of a chunk (it closes a
   * backend it cannot trust): the rest of that chunk is the closing backend's, and is dropped.
   */
  begin(type: number): boolean {
    const m = this.s.machine;
    if (m === undefined || m.backend === undefined || m.backend !== this.scanning) {
      // More replies after the session let go: the backend is closed, not reused.
      return this.scanning ? this.scanning.unowned.begin(type) : false;
    }
    return m.onServerBegin(type);
  }

  end(type: number, buf: Buffer, start: number, end: number): void {
    const m = this.s.machine;
    if (m === undefined || m.backend === undefined || m.backend !== this.scanning) return;
    m.onServerEnd(type, buf, start, end);
  }

  onBackendLost(reason: string): void {
    this.s.guard(() => {
      const b = this.s.machine?.backend;
      if (b === undefined) return;
      this.detach(b);
      this.s.handle!.pool.remove(b);
      this.s.machine!.onBackendLost(reason);
    });
  }

  onCancelDone(backend: BackendConnection): void {
    this.s.guard(() => this.s.machine?.onCancelDone(backend));
  }

  detach(b: BackendConnection, now = clockMs()): void {
    b.owner = undefined;
    b.scanner.setVisitor(b.unowned);
    b.lastUsed = now;
    this.s.flow.resume(b);
    this.s.flow.release(b);
  }
}
