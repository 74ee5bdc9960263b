/**
 * One pool of backend connections for one (database, user). Policy only: connections are opened and
 * closed through the factory it is given, so unit tests drive it with fakes and the proxy with real
 * sockets. Borrowers wait in FIFO order up to the borrow timeout; a borrower that can be served at
 * once is served synchronously (no promise per transaction on the hot path).
 *
 * Generations implement failover: `setGeneration` closes idle connections of older generations at
 * once, busy ones on release. Its parts: borrowers.ts (the queue, its timeouts), opens.ts (opens, retries).
 */
import type { Budget, BudgetShare } from './budget.js';
import { Borrowers, type QueuedWaiter } from './borrowers.js';
import { Opens } from './opens.js';
import { BorrowError, type PoolEvents, type PoolFactory, type PoolLimits, type PoolMember, type Waiter } from './pool-api.js';

// pool-api.ts: defined apart so borrowers.ts and opens.ts share them without an import cycle; imported from here.
export { BorrowError, PermanentOpenError, type PoolEvents, type PoolFactory, type PoolLimits, type PoolMember, type Waiter } from './pool-api.js';

export class Pool<B extends PoolMember> {
  readonly idle: B[] = [];
  readonly busy = new Set<B>();
  private readonly queue: Borrowers<B>;
  private readonly opens: Opens<B>;
  /** Set while there is nowhere to open a connection (no writer): borrowers queue, nothing is opened. */
  private holdReason: string | undefined;
  private closed = false;
  /** Its endpoint's connection budget, when it is in one. */
  private share: BudgetShare | undefined;
  /** PAUSE: see `pause`. */
  private pausedNow = false;
  private onDrained: (() => void)[] = [];
  generation = 0;

  constructor(
    private limits: PoolLimits,
    private readonly factory: PoolFactory<B>,
    private readonly events: PoolEvents = {},
    private readonly now: () => number = Date.now,
  ) {
    this.queue = new Borrowers<B>(
      now,
      (entry) => this.timeOut(entry),
      () => this.share?.changed(),
    );
    this.opens = new Opens<B>(factory, events, {
      generation: () => this.generation,
      opened: (backend) => {
        this.busy.add(backend);
        this.release(backend);
      },
      failedForGood: (err) => this.failAll(err),
      retry: () => this.grow(),
    });
  }

  get size(): number {
    return this.idle.length + this.busy.size + this.opens.current;
  }

  get waiting(): number {
    return this.queue.size;
  }

  get openingCount(): number {
    return this.opens.current;
  }

  /** When the oldest queued borrower started waiting (undefined when none is queued). */
  get oldestWaitSince(): number | undefined {
    return this.queue.peek()?.since;
  }

  /** Opens to an older target still in flight (after a failover), counted apart. */
  get staleOpeningCount(): number {
    return this.opens.stale;
  }

  /** Serves the waiter now if a connection is idle, else queues it (and opens one if allowed). */
  acquire(waiter: Waiter<B>): void {
    if (this.closed) {
      waiter.onBorrowError(new BorrowError('the proxy is shutting down', '57P01', false));
      return;
    }
    if (this.waiting === 0 && this.holdReason === undefined && !this.pausedNow) {
      const backend = this.idle.pop();
      if (backend !== undefined) {
        this.busy.add(backend);
        this.events.borrowed?.(0);
        waiter.onBackend(backend);
        return;
      }
    }
    this.queue.add(waiter, this.limits.borrowTimeoutMs);
    this.grow();
  }

  /** Withdraws a queued waiter (its client went away). */
  cancel(waiter: Waiter<B>): void {
    if (this.queue.remove((e) => e.waiter === waiter)) this.share?.changed();
  }

  /** A borrowed connection comes back clean (ReadyForQuery `I`, nothing owed). */
  release(backend: B): void {
    if (!this.busy.delete(backend)) return;
    if (this.pausedNow) this.settleDrained();
    if (this.closed || backend.generation < this.generation || this.holdReason !== undefined) {
      this.factory.close(backend, backend.generation < this.generation ? 'target changed' : this.closed ? 'pool closed' : 'no writer');
      this.grow();
      return;
    }
    if (this.share?.yields(this.pausedNow ? undefined : this.queue.peek()?.order)) {
      this.factory.close(backend, 'a borrower of another pool has waited longer (the connection budget is full)');
      this.grow();
      return;
    }
    const next = this.pausedNow ? undefined : this.queue.shift();
    if (next !== undefined) {
      this.busy.add(backend);
      this.handOver(next, backend);
      return;
    }
    if (this.limits.maxIdleConnections === 0) {
      this.factory.close(backend, 'maxIdleConnections is 0');
      return;
    }
    backend.idleSince = this.now();
    this.idle.push(backend);
    this.share?.changed(); // another pool may be waiting for it
  }

  /**
   * Closes idle connections beyond maxIdleConnections that have not been used for `minIdleMs`. Idle
   * connections are reused last-in first-out, so the ones at the bottom are those load no longer
   * needs; closing them only after a while (not on every release) avoids reconnect churn.
   */
  trimIdle(minIdleMs: number): void {
    const cutoff = this.now() - minIdleMs;
    while (this.idle.length > this.limits.maxIdleConnections && (this.idle[0]!.idleSince ?? 0) <= cutoff) {
      this.factory.close(this.idle.shift()!, 'idle longer than the trim delay, above maxIdleConnections');
    }
  }

  /** A connection died or was closed by its user: forget it, and open another if borrowers wait. */
  remove(backend: B): void {
    if (!this.busy.delete(backend)) {
      const i = this.idle.indexOf(backend);
      if (i < 0) return;
      this.idle.splice(i, 1);
    }
    if (this.pausedNow) this.settleDrained();
    this.grow();
  }

  /**
   * Failover: newer connections go to the new target; idle old ones close now, busy ones on release
   * (or now, with `abortBusy`, when the target moved: what runs on the old one is lost, and a dead
   * server would leave it waiting for TCP to give up). Borrowers waiting for the old target (held,
   * or between retries) get connections now; opens still in flight to the old target no longer
   * hold their place (a server that vanished lets a connect hang until its timeout).
   */
  setGeneration(generation: number, opts: { abortBusy?: boolean } = {}): void {
    if (generation <= this.generation) return;
    this.generation = generation;
    this.opens.orphan();
    for (const b of this.idle.splice(0)) this.factory.close(b, 'target changed');
    if (opts.abortBusy) {
      for (const b of [...this.busy]) {
        if (b.generation >= generation) continue;
        if (this.factory.abort) this.factory.abort(b, 'target changed');
        else this.factory.close(b, 'target changed');
      }
    }
    this.holdReason = undefined;
    this.opens.resetRetry();
    this.grow();
  }

  /**
   * There is no target to open connections to (the writer is lost, or two claim to be it): borrowers
   * queue, up to the borrow timeout, until `setGeneration` names a new one. No connection is handed
   * out meanwhile: idle ones close now, busy ones when released (in a split brain they lead to a
   * server whose writes may be lost).
   */
  hold(reason: string): void {
    this.holdReason = reason;
    for (const b of this.idle.splice(0)) this.factory.close(b, 'no writer');
  }

  get paused(): boolean {
    return this.pausedNow;
  }

  /**
   * PAUSE (the admin console): borrowers queue, the borrow timeout still applies, and nothing is
   * handed out or opened until `resume`; what is borrowed finishes its unit of work. `drained` runs
   * once no connection is borrowed (now, if none is).
   */
  pause(drained?: () => void): void {
    this.pausedNow = true;
    if (drained) this.onDrained.push(drained);
    this.settleDrained();
  }

  /** RESUME: idle connections go to the queued borrowers first, then more open as the limits allow. */
  resume(): void {
    if (!this.pausedNow) return;
    this.pausedNow = false;
    this.onDrained = [];
    for (let next = this.queue.peek(); next !== undefined && this.idle.length > 0; next = this.queue.peek()) {
      this.queue.shift();
      const backend = this.idle.pop()!;
      this.busy.add(backend);
      this.handOver(next, backend);
    }
    this.grow();
  }

  private settleDrained(): void {
    if (this.busy.size > 0 || this.onDrained.length === 0) return;
    const done = this.onDrained;
    this.onDrained = [];
    for (const f of done) f();
  }

  /** Joins its endpoint's connection budget (budget.ts): every open then needs a slot of it. */
  joinBudget(budget: Budget, database: string, user: string): void {
    this.share = budget.join({
      database,
      user,
      wantsSince: () => this.wantsSince(),
      idleSince: () => this.idle[0]?.idleSince,
      closeIdle: () => {
        const b = this.idle.shift();
        if (b) this.factory.close(b, 'idle, closed for a borrower of another pool (the connection budget is full)');
      },
      retry: () => this.grow(),
    });
  }

  /** When (in arrival order) the borrower the next open would serve came, if the pool would open one now. */
  private wantsSince(): number | undefined {
    if (this.closed || this.holdReason !== undefined || this.pausedNow || this.opens.retrying || this.size >= this.limits.maxConnections) return undefined;
    return this.queue.at(this.opens.current)?.order; // the first borrowers are the opens' in flight
  }

  setLimits(limits: PoolLimits): void {
    this.limits = limits;
    this.grow();
  }

  /** Closes idle connections and fails every waiter; busy ones close when released. */
  close(): void {
    this.closed = true;
    this.opens.stop();
    this.queue.stop();
    for (const b of this.idle.splice(0)) this.factory.close(b, 'pool closed');
    for (let e = this.queue.shift(); e !== undefined; e = this.queue.shift()) {
      e.waiter.onBorrowError(new BorrowError('the proxy is shutting down', '57P01', false));
    }
  }

  private grow(): void {
    while (
      !this.closed &&
      this.holdReason === undefined &&
      !this.pausedNow &&
      !this.opens.retrying &&
      this.waiting > this.opens.current &&
      this.size < this.limits.maxConnections
    ) {
      const slot = this.share?.take(this.generation);
      if (this.share && !slot) return; // queued in the budget: it calls retry when there is room
      this.opens.start(slot);
    }
  }

  private failAll(err: BorrowError): void {
    for (let e = this.queue.shift(); e !== undefined; e = this.queue.shift()) e.waiter.onBorrowError(err);
  }

  private timeOut(entry: QueuedWaiter<B>): void {
    this.events.borrowTimedOut?.();
    const cannotConnect = this.holdReason ?? this.opens.lastError?.message;
    const why =
      cannotConnect !== undefined
        ? `could not connect to the database: ${cannotConnect}`
        : (this.share?.why() ?? `all ${this.limits.maxConnections} connections of the pool are in use`);
    entry.waiter.onBorrowError(
      new BorrowError(
        `timed out after ${this.limits.borrowTimeoutMs} ms waiting for a database connection: ${why}`,
        cannotConnect !== undefined ? '08000' : '53300',
        true,
      ),
    );
  }

  private handOver(entry: QueuedWaiter<B>, backend: B): void {
    this.events.borrowed?.(this.now() - entry.since);
    entry.waiter.onBackend(backend);
  }
}
