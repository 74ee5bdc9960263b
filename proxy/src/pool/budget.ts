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
 * Pure: no sockets and no timers; pools are reached through BudgetClient.
 */
import { crowds, fits, helps, NO_COUNTS, over, Projection, Tally, type BudgetLimits, type Counts } from './budget-counts.js';

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

class Member implements BudgetShare {
  blocked = false;
  /** Its connections the budget has asked to close whose slots are not back yet. */
  closing = 0;
  /** Slots it holds (its connections open, opening or closing). */
  held = 0;
  constructor(
    private readonly budget: Budget,
    readonly client: BudgetClient,
  ) {}

  take(generation: number): Slot | undefined {
    return this.budget.take(this, generation);
  }

  yields(headSince: number | undefined): boolean {
    return this.budget.yields(this, headSince);
  }

  why(): string {
    return this.budget.why(this);
  }

  changed(): void {
    this.budget.changed();
  }
}

class HeldSlot implements Slot {
  state: 'opening' | 'open' | 'released' = 'opening';
  constructor(
    private readonly budget: Budget,
    readonly member: Member,
    readonly generation: number,
  ) {}

  opened(): void {
    if (this.state !== 'opening') return;
    this.state = 'open';
    this.budget.opened(this);
  }

  release(): void {
    if (this.state === 'released') return;
    const wasOpening = this.state === 'opening';
    this.state = 'released';
    this.budget.free(this, wasOpening);
  }
}

interface Queued {
  m: Member;
  since: number;
}

/** The slots a pool keeps once its connections being closed are gone. */
const keeps = (m: Member): number => m.held - m.closing;

export class Budget {
  private readonly held = new Tally();
  private readonly closing = new Tally();
  private readonly opens = new Set<HeldSlot>();
  private readonly members = new Set<Member>();
  private readonly blocked = new Set<Member>();
  private balancing = false;
  private again = false;

  constructor(
    private limits: BudgetLimits,
    /** Names the budget in messages: "writer" or "reader". */
    private readonly label = 'writer',
  ) {}

  /** A pool joins; it reaches the budget through the share it gets. */
  join(client: BudgetClient): BudgetShare {
    const m = new Member(this, client);
    this.members.add(m);
    return m;
  }

  setLimits(limits: BudgetLimits): void {
    this.limits = limits;
    this.shrink();
    this.rebalance(true);
  }

  /**
   * Opens still in flight for a generation before `generation` give their slots back now: after a
   * flip to another server they cannot load the new one, and a vanished server can keep a connect
   * hanging until its timeout. Whatever they become is closed by their pool.
   */
  releaseOpensBefore(generation: number): void {
    for (const s of [...this.opens]) if (s.generation < generation) s.release();
  }

  snapshot(): BudgetSnapshot {
    return {
      ...this.limits,
      inUse: this.held.total(),
      opening: this.opens.size,
      closing: this.closing.total(),
      poolsWaiting: this.queue().length,
    };
  }

  // ------------------------------------------------------------ for members and slots

  take(m: Member, generation: number): Slot | undefined {
    const since = m.client.wantsSince() ?? Infinity;
    if (this.mayTake(m, since)) {
      if (m.blocked) this.unblock(m);
      this.held.add(m.client, 1);
      m.held++;
      const slot = new HeldSlot(this, m, generation);
      this.opens.add(slot);
      return slot;
    }
    if (!m.blocked) {
      m.blocked = true;
      this.blocked.add(m);
      // A new pool in the queue: another pool's idle connection may make room for it.
      this.rebalance(false);
    }
    return undefined;
  }

  yields(m: Member, headSince: number | undefined): boolean {
    if (this.blocked.size === 0 && !this.over(m)) return false;
    if (this.over(m) || this.neededElsewhere(m, headSince)) {
      this.markClosing(m);
      return true;
    }
    return false;
  }

  why(m: Member): string {
    const L = this.limits;
    const { database, user } = m.client;
    if (L.maxDbConnections > 0 && this.held.db(database) >= L.maxDbConnections) {
      return `database "${database}" has all its ${L.maxDbConnections} connections in use (pool.maxDbConnections)`;
    }
    if (L.maxUserConnections > 0 && this.held.user(user) >= L.maxUserConnections) {
      return `user "${user}" has all its ${L.maxUserConnections} connections in use (pool.maxUserConnections)`;
    }
    return `all ${L.maxConnections} ${this.label} connections of this proxy are in use, shared by every database and user`;
  }

  changed(): void {
    if (this.blocked.size > 0) this.rebalance(true);
  }

  opened(s: HeldSlot): void {
    this.opens.delete(s);
  }

  free(s: HeldSlot, wasOpening: boolean): void {
    if (wasOpening) this.opens.delete(s);
    this.held.add(s.member.client, -1);
    s.member.held--;
    if (s.member.closing > 0) {
      s.member.closing--;
      this.closing.add(s.member.client, -1);
    }
    if (this.blocked.size > 0) this.rebalance(true);
  }

  // ------------------------------------------------------------ policy

  /** One more slot for `m` stays within every limit (with one of `freed`'s given back first). */
  private fits(c: Counts, m: Member, freed?: Member): boolean {
    return fits(this.limits, c, m.client, freed?.client);
  }

  /** `m`'s connections (once those closing are gone) are above a limit: the next one back closes. */
  private over(m: Member): boolean {
    return over(this.limits, this.held, this.closing, m.client);
  }

  /**
   * A slot for `m` now stays within the limits and leaves the room planned for pools waiting longer:
   * for those it fits (now, or once connections being closed are gone), and for the oldest starving
   * one the room it needs where it is short in two limits (see `neededElsewhere`).
   */
  private mayTake(m: Member, since: number): boolean {
    if (!this.fits(this.held, m)) return false;
    if (this.blocked.size === 0) return true;
    const plan = new Projection(this.held, this.closing);
    let head = true;
    for (const q of this.queue()) {
      if (q.since >= since) break;
      if (q.m === m) continue;
      if (this.fits(plan, q.m)) plan.add(q.m.client, 1);
      else if (head && keeps(q.m) === 0) {
        if (crowds(this.limits, plan, q.m.client, m.client)) return false;
        head = false;
      }
    }
    return this.fits(plan, m);
  }

  /**
   * Whether one of `m`'s connections, given back, goes to an older borrower of another pool. Older
   * pools are matched, oldest first, with the room already coming (free slots and connections being
   * closed), so two connections are not closed for one borrower. With its own borrowers waiting, a
   * pool gives a connection up only to one that holds none, or at least two fewer than it: so no
   * pool starves, and busy pools settle at even shares instead of trading a connection (a close and
   * an open) on every transaction.
   */
  private neededElsewhere(m: Member, headSince: number | undefined): boolean {
    const since = headSince ?? Infinity;
    const plan = new Projection(this.held, this.closing);
    let head = true;
    for (const q of this.queue()) {
      if (q.since >= since) return false;
      if (q.m === m) continue;
      if (this.fits(plan, q.m)) {
        plan.add(q.m.client, 1);
        continue;
      }
      const starving = keeps(q.m) === 0;
      if (this.fits(plan, q.m, m) && (headSince === undefined || starving || keeps(m) > keeps(q.m) + 1)) return true;
      if (starving && head) {
        // The oldest starving pool needs room in two limits (its database's and its user's): each
        // connection back that makes some of it is closed, and `keptFor` keeps that room for it.
        if (helps(this.limits, plan, q.m.client, m.client)) return true;
        head = false;
      }
    }
    return false;
  }

  /** Pools waiting for a slot, oldest borrower first; pools that no longer wait leave the queue. */
  private queue(): Queued[] {
    const out: Queued[] = [];
    for (const m of this.blocked) {
      const since = m.client.wantsSince();
      if (since === undefined) this.unblock(m);
      else out.push({ m, since });
    }
    return out.sort((a, b) => a.since - b.since);
  }

  private unblock(m: Member): void {
    m.blocked = false;
    this.blocked.delete(m);
  }

  private markClosing(m: Member): void {
    m.closing++;
    this.closing.add(m.client, 1);
  }

  /**
   * Grants and reclaims until nothing changes. Not re-entered: a pool that takes or gives back a
   * slot from inside it only asks for one more round (`freed`: a slot came back).
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
        while (this.grant()) {
          /* until a round grants nothing */
        }
        this.reclaim();
      } while (this.again);
    } finally {
      this.balancing = false;
    }
  }

  /** Wakes, oldest first, each waiting pool that fits now; true if one of them took a slot. */
  private grant(): boolean {
    let took = false;
    for (const q of this.queue()) {
      if (!q.m.blocked || !this.fits(this.held, q.m)) continue;
      const before = this.held.total();
      this.unblock(q.m);
      q.m.client.retry();
      if (this.held.total() > before) took = true;
    }
    return took;
  }

  /** For each waiting pool the room already coming does not cover, closes another pool's idle connection. */
  private reclaim(): void {
    const idle = [...this.members].filter((m) => m.client.idleSince() !== undefined);
    if (idle.length === 0 || this.blocked.size === 0) return;
    const plan = new Projection(this.held, this.closing);
    for (const q of this.queue()) {
      if (this.fits(plan, q.m)) {
        plan.add(q.m.client, 1);
        continue;
      }
      // The idle connections that together make room for it (a database and a user at their limits
      // need one of each), longest idle first; none if they cannot: then it waits for busy ones.
      const trial = new Projection(plan, NO_COUNTS);
      const victims: Member[] = [];
      while (!this.fits(trial, q.m)) {
        const v = this.longestIdle(idle, (c) => c !== q.m && !victims.includes(c) && helps(this.limits, trial, q.m.client, c.client));
        if (v === undefined) break;
        victims.push(v);
        trial.add(v.client, -1);
      }
      if (!this.fits(trial, q.m)) continue;
      for (const v of victims) {
        v.client.closeIdle();
        this.markClosing(v);
        plan.add(v.client, -1);
      }
      plan.add(q.m.client, 1);
    }
  }

  /** After a lower limit: idle connections above it close now (busy ones when they come back). */
  private shrink(): void {
    const idle = [...this.members].filter((m) => m.client.idleSince() !== undefined);
    // Bounded by the slots held, in case a pool's closeIdle closes nothing.
    for (let n = this.held.total(); n > 0; n--) {
      const v = this.longestIdle(idle, (m) => this.over(m));
      if (v === undefined) return;
      v.client.closeIdle();
      this.markClosing(v);
    }
  }

  private longestIdle(candidates: Member[], ok: (m: Member) => boolean): Member | undefined {
    let best: Member | undefined;
    let bestSince = Infinity;
    for (const m of candidates) {
      const since = m.client.idleSince();
      if (since !== undefined && since < bestSince && ok(m)) {
        best = m;
        bestSince = since;
      }
    }
    return best;
  }
}
