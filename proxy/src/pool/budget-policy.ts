/**
 * The connection budget's policy (budget.ts): who may take a slot (FIFO across pools, with the room
 * planned for those waiting longer), which connection coming back yields to another pool, which idle
 * ones are reclaimed for a waiting borrower or closed after a lower limit. Pure decisions over the
 * accounts (budget-accounts.ts); pools are reached only through their BudgetClient.
 */
import type { Accounts, Member } from './budget-accounts.js';
import { crowds, helps, NO_COUNTS, Projection } from './budget-counts.js';

/** The slots a pool keeps once its connections being closed are gone. */
const keeps = (m: Member): number => m.held - m.closing;

/**
 * A slot for `m` now stays within the limits and leaves the room planned for pools waiting longer:
 * for those it fits (now, or once connections being closed are gone), and for the oldest starving
 * one the room it needs where it is short in two limits (see `neededElsewhere`).
 */
export function mayTake(a: Accounts, m: Member, since: number): boolean {
  if (!a.fits(a.held, m)) return false;
  if (a.blocked.size === 0) return true;
  const plan = new Projection(a.held, a.closing);
  let head = true;
  for (const q of a.queue()) {
    if (q.since >= since) break;
    if (q.m === m) continue;
    if (a.fits(plan, q.m)) plan.add(q.m.client, 1);
    else if (head && keeps(q.m) === 0) {
      if (crowds(a.limits, plan, q.m.client, m.client)) return false;
      head = false;
    }
  }
  return a.fits(plan, m);
}

/**
 * Whether one of `m`'s connections, given back, goes to an older borrower of another pool. Older
 * pools are matched, oldest first, with the room already coming (free slots and connections being
 * closed), so two connections are not closed for one borrower. With its own borrowers waiting, a
 * pool gives a connection up only to one that holds none, or at least two fewer than it: so no
 * pool starves, and busy pools settle at even shares instead of trading a connection (a close and
 * an open) on every transaction.
 */
export function neededElsewhere(a: Accounts, m: Member, headSince: number | undefined): boolean {
  const since = headSince ?? Infinity;
  const plan = new Projection(a.held, a.closing);
  let head = true;
  for (const q of a.queue()) {
    if (q.since >= since) return false;
    if (q.m === m) continue;
    if (a.fits(plan, q.m)) {
      plan.add(q.m.client, 1);
      continue;
    }
    const starving = keeps(q.m) === 0;
    if (a.fits(plan, q.m, m) && (headSince === undefined || starving || keeps(m) > keeps(q.m) + 1)) return true;
    if (starving && head) {
      // The oldest starving pool needs room in two limits (its database's and its user's): each
      // connection back that makes some of it is closed, and `keptFor` keeps that room for it.
      if (helps(a.limits, plan, q.m.client, m.client)) return true;
      head = false;
    }
  }
  return false;
}

/** Wakes, oldest first, each waiting pool that fits now; true if one of them took a slot. */
export function grant(a: Accounts): boolean {
  let took = false;
  for (const q of a.queue()) {
    if (!q.m.blocked || !a.fits(a.held, q.m)) continue;
    const before = a.held.total();
    a.unblock(q.m);
    q.m.client.retry();
    if (a.held.total() > before) took = true;
  }
  return took;
}

/** For each waiting pool the room already coming does not cover, closes another pool's idle connection. */
export function reclaim(a: Accounts): void {
  const idle = [...a.members].filter((m) => m.client.idleSince() !== undefined);
  if (idle.length === 0 || a.blocked.size === 0) return;
  const plan = new Projection(a.held, a.closing);
  for (const q of a.queue()) {
    if (a.fits(plan, q.m)) {
      plan.add(q.m.client, 1);
      continue;
    }
    // The idle connections that together make room for it (a database and a user at their limits
    // need one of each), longest idle first; none if they cannot: then it waits for busy ones.
    const trial = new Projection(plan, NO_COUNTS);
    const victims: Member[] = [];
    while (!a.fits(trial, q.m)) {
      const v = longestIdle(idle, (c) => c !== q.m && !victims.includes(c) && helps(a.limits, trial, q.m.client, c.client));
      if (v === undefined) break;
      victims.push(v);
      trial.add(v.client, -1);
    }
    if (!a.fits(trial, q.m)) continue;
    for (const v of victims) {
      v.client.closeIdle();
      a.markClosing(v);
      plan.add(v.client, -1);
    }
    plan.add(q.m.client, 1);
  }
}

/** After a lower limit: idle connections above it close now (busy ones when they come back). */
export function shrink(a: Accounts): void {
  const idle = [...a.members].filter((m) => m.client.idleSince() !== undefined);
  // Bounded by the slots held, in case a pool's closeIdle closes nothing.
  for (let n = a.held.total(); n > 0; n--) {
    const v = longestIdle(idle, (m) => a.over(m));
    if (v === undefined) return;
    v.client.closeIdle();
    a.markClosing(v);
  }
}

function longestIdle(candidates: Member[], ok: (m: Member) => boolean): Member | undefined {
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
