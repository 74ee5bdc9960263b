/**
 * A pool's connection opens: those in flight for its current generation and for older ones (after a
 * failover: nobody waits for those, and what they open is closed), and the backoff between retries.
 */
import type { Slot } from './budget.js';
import { BorrowError, PermanentOpenError, type PoolEvents, type PoolFactory } from './pool-api.js';

const RETRY_MIN_MS = 100;
const RETRY_MAX_MS = 2_000;

/** What an open's outcome does to its pool. */
export interface OpenOutcomes<B> {
  /** The pool's generation now: an open started for an older one is stale. */
  generation(): number;
  /** An open for the current generation succeeded: the connection is the pool's. */
  opened(backend: B): void;
  /** An open failed in a way waiting will not fix: every borrower fails with this. */
  failedForGood(err: BorrowError): void;
  /** The retry delay is over: open again if borrowers still wait. */
  retry(): void;
}

export class Opens<B> {
  /** Opens for the current generation (they count against maxConnections and serve waiters). */
  current = 0;
  /** Opens still in flight for an older target: nobody waits for them, and they close if they succeed. */
  stale = 0;
  /** Why the last open failed, until one succeeds or the target changes. */
  lastError: Error | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private retryDelay = RETRY_MIN_MS;
  private stopped = false;

  constructor(
    private readonly factory: PoolFactory<B>,
    private readonly events: PoolEvents,
    private readonly outcomes: OpenOutcomes<B>,
  ) {}

  /** Between a failed open and its retry: nothing opens meanwhile. */
  get retrying(): boolean {
    return this.retryTimer !== undefined;
  }

  start(slot: Slot | undefined): void {
    this.current++;
    const generation = this.outcomes.generation();
    this.factory.open(generation, slot).then(
      (backend) => {
        if (generation < this.outcomes.generation()) {
          this.stale--;
          this.factory.close(backend, 'target changed');
          return;
        }
        this.current--;
        this.retryDelay = RETRY_MIN_MS;
        this.lastError = undefined;
        this.outcomes.opened(backend);
      },
      (err: Error) => {
        if (generation < this.outcomes.generation()) {
          this.stale--;
          return;
        }
        this.current--;
        this.lastError = err;
        this.events.openFailed?.(err);
        if (err instanceof PermanentOpenError) {
          this.outcomes.failedForGood(new BorrowError(err.message, err.sqlstate, false));
          return;
        }
        this.scheduleRetry();
      },
    );
  }

  /** A new generation: the opens in flight are for the old target now. */
  orphan(): void {
    this.stale += this.current;
    this.current = 0;
  }

  /** A new target: forget the last failure, and open again at once and with the shortest delay. */
  resetRetry(): void {
    this.lastError = undefined;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.retryDelay = RETRY_MIN_MS;
  }

  /** The pool closes: no more retries. */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.retryTimer);
  }

  private scheduleRetry(): void {
    if (this.retryTimer !== undefined || this.stopped) return;
    const delay = this.retryDelay;
    this.retryDelay = Math.min(this.retryDelay * 2, RETRY_MAX_MS);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.outcomes.retry();
    }, delay);
    this.retryTimer.unref?.();
  }
}
