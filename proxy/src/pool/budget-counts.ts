/**
 * The connection budget's counts (budget.ts): slots held in all, per database and per user, what
 * they will be once the connections being closed are gone, and the limit checks over them. Pure.
 */
export interface BudgetLimits {
  maxConnections: number;
  /** Per database; 0 = no limit of its own. */
  maxDbConnections: number;
  /** Per user; 0 = no limit of its own. */
  maxUserConnections: number;
}

/** Whose slots: one pool's database and user. */
export interface Owner {
  readonly database: string;
  readonly user: string;
}

export interface Counts {
  total(): number;
  db(name: string): number;
  user(name: string): number;
}

export class Tally implements Counts {
  private all = 0;
  private readonly byDb = new Map<string, number>();
  private readonly byUser = new Map<string, number>();

  add(o: Owner, n: number): void {
    this.all += n;
    bump(this.byDb, o.database, n);
    bump(this.byUser, o.user, n);
  }

  total(): number {
    return this.all;
  }

  db(name: string): number {
    return this.byDb.get(name) ?? 0;
  }

  user(name: string): number {
    return this.byUser.get(name) ?? 0;
  }
}

/** The counts once the connections being closed are gone, plus what a plan adds to them. */
export class Projection implements Counts {
  private readonly delta = new Tally();
  constructor(
    private readonly held: Counts,
    private readonly closing: Counts,
  ) {}

  add(o: Owner, n: number): void {
    this.delta.add(o, n);
  }

  total(): number {
    return this.held.total() - this.closing.total() + this.delta.total();
  }

  db(name: string): number {
    return this.held.db(name) - this.closing.db(name) + this.delta.db(name);
  }

  user(name: string): number {
    return this.held.user(name) - this.closing.user(name) + this.delta.user(name);
  }
}

/** One more slot for `o` stays within every limit (with one of `freed`'s given back first). */
export function fits(L: BudgetLimits, c: Counts, o: Owner, freed?: Owner): boolean {
  if (c.total() - (freed ? 1 : 0) + 1 > L.maxConnections) return false;
  if (L.maxDbConnections > 0 && c.db(o.database) - (freed?.database === o.database ? 1 : 0) + 1 > L.maxDbConnections) return false;
  return !(L.maxUserConnections > 0 && c.user(o.user) - (freed?.user === o.user ? 1 : 0) + 1 > L.maxUserConnections);
}

/** Held minus closing is above a limit that concerns `o` (no allocation: it runs on every release). */
export function over(L: BudgetLimits, held: Counts, closing: Counts, o: Owner): boolean {
  if (held.total() - closing.total() > L.maxConnections) return true;
  if (L.maxDbConnections > 0 && held.db(o.database) - closing.db(o.database) > L.maxDbConnections) return true;
  return L.maxUserConnections > 0 && held.user(o.user) - closing.user(o.user) > L.maxUserConnections;
}

function bump(map: Map<string, number>, key: string, n: number): void {
  const v = (map.get(key) ?? 0) + n;
  if (v === 0) map.delete(key);
  else map.set(key, v);
}

export const NO_COUNTS: Counts = { total: () => 0, db: () => 0, user: () => 0 };

/** Giving back one of `v`'s slots makes room in one of the limits `o` lacks room in. */
export function helps(L: BudgetLimits, c: Counts, o: Owner, v: Owner): boolean {
  if (c.total() + 1 > L.maxConnections) return true;
  if (L.maxDbConnections > 0 && v.database === o.database && c.db(o.database) + 1 > L.maxDbConnections) return true;
  return L.maxUserConnections > 0 && v.user === o.user && c.user(o.user) + 1 > L.maxUserConnections;
}

/** `n` taking one more slot would leave `o` without the one slot it needs in a limit they share. */
export function crowds(L: BudgetLimits, c: Counts, o: Owner, n: Owner): boolean {
  if (c.total() + 2 > L.maxConnections) return true;
  if (L.maxDbConnections > 0 && n.database === o.database && c.db(o.database) + 2 > L.maxDbConnections) return true;
  return L.maxUserConnections > 0 && n.user === o.user && c.user(o.user) + 2 > L.maxUserConnections;
}
