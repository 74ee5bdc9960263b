/**
 * The per-pod connection budget of one endpoint (the writer's pools, or the reader endpoint's): the
 * backend connections of all its pools together never exceed `maxConnections`, and those of one
 * database or one user never exceed `maxDbConnections` / `maxUserConnections` (0: no limit of
 * their own), like PgBouncer's max_db_connections / max_user_connections.
 *
 * A slot is held from the moment a pool decides to open a connection until that connection is gone
 * (its server closed its side: the backend has left pg_stat_activity), not only until the pool
 * forgot it, so a connection still closing counts. Pools whose borrowers wait for a slot queue here,
 * ordered by their oldest such borrower (FIFO across pools); a freed slot goes to the oldest that
 * may use it. When the budget is full, an idle connection of another pool is closed for a waiting
 * borrower (reclaim), and a connection coming back to a pool is closed instead of served to that
 * pool's next borrower when another pool's borrower has waited longer and that pool holds none, or
 * two fewer (yield): one busy pool cannot keep the budget to itself, and busy pools settle at even
 * shares rather than paying a close and an open per transaction.
 *
 * Pure: no sockets and no timers; pools are reached through BudgetClient. Its parts: the books
 * (budget-accounts.ts, over budget-counts.ts) and the policy (budget-policy.ts).
 */
import { Accounts, HeldSlot, Member } from './budget-accounts.js';
import type { BudgetLimits } from './budget-counts.js';
import { grant, mayTake, neededElsewhere, reclaim, shrink } from './budget-policy.js';

export type { BudgetLimits } from './budget-counts.js';

/** What the budget asks of one pool. */
export interface BudgetClient {
  readonly database: string;
  readonly user: string;
  /**
   * When the oldest borrower a new connection would serve came, if the pool would open one now: a
   * number that orders borrowers of every pool by arrival (smaller came first).
   */
  wantsSince(): number | undefined;
  /** When the pool's longest-idle connection went idle, if it has one. */
  idleSince(): number | undefined;
  /** Closes the pool's longest-idle connection (its slot comes back once it is gone). */
  closeIdle(): void;
  /** A slot may be there for it: open again if it still wants to. */
  retry(): void;
}

/** One connection's place in the budget, from its open until it is gone. */
export interface Slot {
  /** The open succeeded: the slot belongs to a connection now, not to an open. */
  opened(): void;
  /** The open failed or the connection is gone. Only the first call counts. */
  release(): void;
}

/** A pool's handle on the budget. */
export interface BudgetShare {
  /** A slot for one open, or undefined: the pool waits in the queue until `retry`. */
  take(generation: number): Slot | undefined;
  /**
   * A connection comes back; `headSince` is when (as in wantsSince) the pool's own next borrower
   * came. True: close it instead (an older borrower of another pool needs the room, or the budget is
   * above its limits).
   */
  yields(headSince: number | undefined): boolean;
  /** Which limit holds this pool's borrowers back, for a borrow timeout's message. */
  why(): string;
  /** Its borrowers left or a connection went idle: what was kept for it, or waits for it, may move. */
  changed(): void;
}

export interface BudgetSnapshot {
  maxConnections: number;
  maxDbConnections: number;
  maxUserConnections: number;
  /** Slots held: connections open, opening, or closing and not gone yet. */
  inUse: number;
  opening: number;
  closing: number;
  /** Pools with borrowers waiting for a slot. */
  poolsWaiting: number;
}

export class Budget {
  private readonly accounts: Accounts;
  private balancing = false;
  private again = false;

  constructor(
    limits: BudgetLimits,
    /** Names the budget in messages: "writer" or "reader". */
    private readonly label = 'writer',
  ) {
    this.accounts = new Accounts(limits);
  }

  /** A pool joins; it reaches the budget through the share it gets. */
  join(client: BudgetClient): BudgetShare {
    const m = new Member(this, client);
    this.accounts.members.add(m);
    return m;
  }

  setLimits(limits: BudgetLimits): void {
    this.accounts.limits = limits;
    shrink(this.accounts);
    this.rebalance(true);
  }

  /**
   * Opens still in flight for a generation before `generation` give their slots back now: after a
   * flip to another server they cannot load the new one, and a vanished server can keep a connect
   * hanging until its timeout. Whatever they become is closed by their pool.
   */
  releaseOpensBefore(generation: number): void {
    for (const s of [...this.accounts.opens]) if (s.generation < generation) s.release();
  }

  snapshot(): BudgetSnapshot {
    const a = this.accounts;
    return {
      ...a.limits,
      inUse: a.held.total(),
      opening: a.opens.size,
      closing: a.closing.total(),
      poolsWaiting: a.queue().length,
    };
  }

  // ------------------------------------------------------------ for members and slots

  take(m: Member, generation: number): Slot | undefined {
    const since = m.client.wantsSince() ?? Infinity;
    if (mayTake(this.accounts, m, since)) {
      if (m.blocked) this.accounts.unblock(m);
      const slot = new HeldSlot(this, m, generation);
      this.accounts.hold(slot);
      return slot;
    }
    if (!m.blocked) {
      this.accounts.block(m);
      // A new pool in the queue: another pool's idle connection may make room for it.
      this.rebalance(false);
    }
    return undefined;
  }

  yields(m: Member, headSince: number | undefined): boolean {
    const a = this.accounts;
    if (a.blocked.size === 0 && !a.over(m)) return false;
    if (a.over(m) || neededElsewhere(a, m, headSince)) {
      a.markClosing(m);
      return true;
    }
    return false;
  }

  why(m: Member): string {
    const { limits: L, held } = this.accounts;
    const { database, user } = m.client;
    if (L.maxDbConnections > 0 && held.db(database) >= L.maxDbConnections) {
      return `database "${database}" has all its ${L.maxDbConnections} connections in use (pool.maxDbConnections)`;
    }
    if (L.maxUserConnections > 0 && held.user(user) >= L.maxUserConnections) {
      return `user "${user}" has all its ${L.maxUserConnections} connections in use (pool.maxUserConnections)`;
    }
    return `all ${L.maxConnections} ${this.label} connections of this proxy are in use, shared by every database and user`;
  }

  changed(): void {
    if (this.accounts.blocked.size > 0) this.rebalance(true);
  }

  opened(s: HeldSlot): void {
    this.accounts.opened(s);
  }

  free(s: HeldSlot, wasOpening: boolean): void {
    this.accounts.free(s, wasOpening);
    if (this.accounts.blocked.size > 0) this.rebalance(true);
  }

  /**
   * Grants and reclaims (budget-policy.ts) until nothing changes. Not re-entered: a pool that takes
   * or gives back a slot from inside it only asks for one more round (`freed`: a slot came back).
   */
  private rebalance(freed: boolean): void {
    if (this.balancing) {
      if (freed) this.again = true;
      return;
    }
    this.balancing = true;
    try {
      do {
        this.again = false;
        while (grant(this.accounts)) {
          /* until a round grants nothing */
        }
        reclaim(this.accounts);
      } while (this.again);
    } finally {
      this.balancing = false;
    }
  }
}
