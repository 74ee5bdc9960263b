/**
 * Test support for the connection budget (pool/budget.ts): a fake pool that keeps the slot contract
 * the real one does, for table and property tests of the budget's policy.
 */
import type { BudgetClient, BudgetShare, Slot } from '../pool/budget.js';

let clock = 0;

/** Borrowers and idle connections are stamped from one counter: arrival order across pools. */
export function resetClock(): void {
  clock = 0;
}

/** A pool as the budget sees it, driven by hand: FIFO borrowers, connections that open, come back, close and are gone. */
export class FakePool implements BudgetClient {
  share!: BudgetShare;
  generation = 1;
  waiting: number[] = [];
  opening: Slot[] = [];
  stale: Slot[] = [];
  busy: Slot[] = [];
  idle: { slot: Slot; since: number }[] = [];
  closing: Slot[] = [];
  constructor(
    readonly database: string,
    readonly user: string,
  ) {}

  wantsSince(): number | undefined {
    return this.waiting.length > this.opening.length ? this.waiting[this.opening.length] : undefined;
  }
  idleSince(): number | undefined {
    return this.idle[0]?.since;
  }
  closeIdle(): void {
    const c = this.idle.shift();
    if (c) this.closing.push(c.slot);
  }
  retry(): void {
    this.grow();
  }

  grow(): void {
    while (this.waiting.length > this.opening.length) {
      const slot = this.share.take(this.generation);
      if (!slot) return;
      this.opening.push(slot);
    }
  }
  wants(): void {
    this.waiting.push(++clock);
    if (this.idle.length > 0 && this.waiting.length === 1) {
      this.waiting.shift();
      this.busy.push(this.idle.pop()!.slot);
      return;
    }
    this.grow();
  }
  opened(): void {
    const slot = this.opening.shift()!;
    slot.opened();
    this.busy.push(slot);
    this.returns(slot);
  }
  fails(): void {
    this.opening.shift()!.release();
    this.grow();
  }
  returns(slot = this.busy[0]!): void {
    this.busy.splice(this.busy.indexOf(slot), 1);
    if (this.share.yields(this.waiting[0])) {
      this.closing.push(slot);
      this.grow();
    } else if (this.waiting.length > 0) {
      this.waiting.shift();
      this.busy.push(slot);
    } else {
      this.idle.push({ slot, since: ++clock });
      this.share.changed();
    }
  }
  gone(): void {
    this.closing.shift()!.release();
  }
  leaves(): void {
    this.waiting.shift();
    this.share.changed();
  }
  /** Opens for an older target after a flip to another server: their slots were given back. */
  ghosts: Slot[] = [];
  flip(generation: number, moved = false): void {
    this.generation = generation;
    if (moved) this.ghosts.push(...this.stale.splice(0), ...this.opening.splice(0));
    else this.stale.push(...this.opening.splice(0));
    for (const c of this.idle.splice(0)) this.closing.push(c.slot);
    this.grow();
  }
  staleOpened(): void {
    // An open for an older target succeeds: its pool closes it at once.
    const slot = this.stale.shift()!;
    slot.opened();
    this.closing.push(slot);
  }
  staleFails(): void {
    this.stale.shift()!.release();
  }
  /** A ghost open settles either way: nothing of it counts. */
  ghostSettles(): void {
    const slot = this.ghosts.shift()!;
    slot.opened();
    slot.release();
  }
  /** Slots it holds in the budget's eyes. */
  get holding(): number {
    return this.opening.length + this.stale.length + this.busy.length + this.idle.length + this.closing.length;
  }
  describe(name: string): string {
    const parts = (
      [
        ['b', this.busy.length],
        ['i', this.idle.length],
        ['o', this.opening.length],
        ['s', this.stale.length],
        ['c', this.closing.length],
        ['w', this.waiting.length],
      ] as const
    )
      .filter(([, n]) => n > 0)
      .map(([k, n]) => `${k}${n}`);
    return `${name}:${parts.length ? ' ' + parts.join(' ') : ''}`;
  }
}
