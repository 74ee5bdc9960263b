/** What a Pool (pool.ts) is given and gives: its members, borrowers, limits, factory, events, and the errors a borrow ends with. */
import type { Slot } from './budget.js';

export interface PoolMember {
  generation: number;
  /** Set by the pool when the member goes idle (for trimming). */
  idleSince?: number;
}

export interface Waiter<B> {
  onBackend(backend: B): void;
  onBorrowError(err: BorrowError): void;
}

export class BorrowError extends Error {
  constructor(
    message: string,
    readonly sqlstate: string,
    readonly timedOut: boolean,
  ) {
    super(message);
    this.name = 'BorrowError';
  }
}

/** An open failure that waiting will not fix (wrong password, unknown database). */
export class PermanentOpenError extends Error {
  constructor(
    message: string,
    readonly sqlstate: string,
  ) {
    super(message);
    this.name = 'PermanentOpenError';
  }
}

export interface PoolLimits {
  maxConnections: number;
  maxIdleConnections: number;
  borrowTimeoutMs: number;
}

export interface PoolFactory<B> {
  /**
   * `slot`: the connection budget's place this open holds, when the pool is in one (budget.ts); the
   * factory gives it back when the open fails or, after it succeeded, when the connection is gone.
   */
  open(generation: number, slot?: Slot): Promise<B>;
  close(backend: B, reason: string): void;
  /** Ends a borrowed connection now, whatever it is doing (its user sees it lost); default: close. */
  abort?(backend: B, reason: string): void;
}

export interface PoolEvents {
  borrowed?(waitMs: number): void;
  borrowTimedOut?(): void;
  openFailed?(err: Error): void;
}
