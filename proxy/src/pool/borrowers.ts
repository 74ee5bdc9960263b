/** A pool's queued borrowers: arrival order across all pools, deadlines, and the one timer that times them out. */
import type { Waiter } from './pool-api.js';
import { WaiterQueue } from './waiters.js';

export interface QueuedWaiter<B> {
  waiter: Waiter<B>;
  since: number;
  deadline: number;
  /** Arrival order across all pools (the budget's FIFO; many borrowers come in the same millisecond). */
  order: number;
}

let arrivals = 0;

/**
 * One timer for the whole queue, set for the oldest waiter: waiters are queued in deadline order,
 * so a per-waiter timer (created and cleared on every contended borrow) is not needed. A subclass of
 * the queue rather than a wrapper, so the pool reaches size/peek/shift with no extra hop.
 */
export class Borrowers<B> extends WaiterQueue<QueuedWaiter<B>> {
  private expiryTimer: NodeJS.Timeout | undefined;
  private expiryAt = Infinity;

  constructor(
    private readonly now: () => number,
    /** A borrower's deadline passed: it is out of the queue already; tell it why. */
    private readonly timedOut: (entry: QueuedWaiter<B>) => void,
    /** A round of timeouts is over: borrowers left (what the budget keeps for the pool may move). */
    private readonly expired: () => void,
  ) {
    super();
  }

  /** Queues a borrower that waits up to `timeoutMs`. */
  add(waiter: Waiter<B>, timeoutMs: number): void {
    const since = this.now();
    this.push({ waiter, since, deadline: since + timeoutMs, order: ++arrivals });
    this.armExpiry();
  }

  /** The pool closes: no more timeouts. */
  stop(): void {
    clearTimeout(this.expiryTimer);
  }

  private armExpiry(): void {
    const head = this.peek();
    if (head === undefined) return;
    if (this.expiryTimer !== undefined && this.expiryAt <= head.deadline) return;
    clearTimeout(this.expiryTimer);
    this.expiryAt = head.deadline;
    this.expiryTimer = setTimeout(() => this.expire(), Math.max(0, head.deadline - this.now()));
  }

  private expire(): void {
    this.expiryTimer = undefined;
    this.expiryAt = Infinity;
    const now = this.now();
    for (let head = this.peek(); head !== undefined && head.deadline <= now; head = this.peek()) {
      this.shift();
      this.timedOut(head);
    }
    this.armExpiry();
    this.expired();
  }
}
