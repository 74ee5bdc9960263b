/** The connection budget's books (budget.ts): the slots each pool holds, opens in flight, connections asked to close, pools waiting. */
import type { Budget, BudgetClient, BudgetShare, Slot } from './budget.js';
import { type BudgetLimits, type Counts, fits, over, Tally } from './budget-counts.js';

export class Member implements BudgetShare {
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

export class HeldSlot implements Slot {
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

export interface Queued {
  m: Member;
  since: number;
}

/** Counting only: who may take a slot, and what is closed for whom, is budget-policy.ts. */
export class Accounts {
  readonly held = new Tally();
  readonly closing = new Tally();
  readonly opens = new Set<HeldSlot>();
  readonly members = new Set<Member>();
  readonly blocked = new Set<Member>();

  constructor(public limits: BudgetLimits) {}

  /** One more slot for `m` stays within every limit (with one of `freed`'s given back first). */
  fits(c: Counts, m: Member, freed?: Member): boolean {
    return fits(this.limits, c, m.client, freed?.client);
  }

  /** `m`'s connections (once those closing are gone) are above a limit: the next one back closes. */
  over(m: Member): boolean {
    return over(this.limits, this.held, this.closing, m.client);
  }

  /** `s`, a new open of its member's, holds a slot. */
  hold(s: HeldSlot): void {
    this.held.add(s.member.client, 1);
    s.member.held++;
    this.opens.add(s);
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
  }

  /** The budget asked one of `m`'s connections to close: its slot counts as closing until it is gone. */
  markClosing(m: Member): void {
    m.closing++;
    this.closing.add(m.client, 1);
  }

  block(m: Member): void {
    m.blocked = true;
    this.blocked.add(m);
  }

  unblock(m: Member): void {
    m.blocked = false;
    this.blocked.delete(m);
  }

  /** Pools waiting for a slot, oldest borrower first; pools that no longer wait leave the queue. */
  queue(): Queued[] {
    const out: Queued[] = [];
    for (const m of this.blocked) {
      const since = m.client.wantsSince();
      if (since === undefined) this.unblock(m);
      else out.push({ m, since });
    }
    return out.sort((a, b) => a.since - b.since);
  }
}
