/**
 * Real pools in one budget, with a fake connection factory that keeps the slot contract the proxy's
 * does (given back when an open fails, or when a connection is gone: here when the test says so).
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Budget, type BudgetLimits, type Slot } from './budget.js';
import { type BorrowError, Pool, type PoolFactory, type Waiter } from './pool.js';

interface Conn {
  id: number;
  generation: number;
  slot: Slot | undefined;
}

class FakeFactory implements PoolFactory<Conn> {
  opened: { generation: number; slot: Slot | undefined; resolve: (c: Conn) => void; reject: (e: Error) => void }[] = [];
  closed: [number, string][] = [];
  /** Closed by the pool, not gone yet (their slots still held). */
  closing: Conn[] = [];
  private static next = 1;
  open(generation: number, slot?: Slot): Promise<Conn> {
    return new Promise((resolve, reject) => this.opened.push({ generation, slot, resolve, reject }));
  }
  close(c: Conn, reason: string): void {
    this.closed.push([c.id, reason]);
    this.closing.push(c);
  }
  abort(c: Conn, reason: string): void {
    this.close(c, reason);
  }
  async succeed(): Promise<Conn> {
    const o = this.opened.shift()!;
    const c = { id: FakeFactory.next++, generation: o.generation, slot: o.slot };
    o.slot?.opened();
    o.resolve(c);
    await flush();
    return c;
  }
  async fail(err: Error): Promise<void> {
    const o = this.opened.shift()!;
    o.slot?.release();
    o.reject(err);
    await flush();
  }
  /** The server side of every closed connection is gone. */
  gone(): void {
    for (const c of this.closing.splice(0)) c.slot?.release();
  }
}

async function flush(): Promise<void> {
  for (let i = 0; i < 4; i++) await Promise.resolve();
}

class Recorder implements Waiter<Conn> {
  got: Conn[] = [];
  errors: BorrowError[] = [];
  onBackend(c: Conn): void {
    this.got.push(c);
  }
  onBorrowError(e: BorrowError): void {
    this.errors.push(e);
  }
}

const budgetOf = (maxConnections: number, maxDbConnections = 0, maxUserConnections = 0): BudgetLimits => ({
  maxConnections,
  maxDbConnections,
  maxUserConnections,
});

describe('pools in one budget', () => {
  let f: FakeFactory;
  let budget: Budget;
  const pool = (database: string, user: string, maxConnections = 10) => {
    const p = new Pool<Conn>({ maxConnections, maxIdleConnections: 5, borrowTimeoutMs: 1_000 }, f, {}, () => Date.now());
    p.joinBudget(budget, database, user);
    return p;
  };
  beforeEach(() => {
    vi.useFakeTimers();
    f = new FakeFactory();
  });
  afterEach(() => vi.useRealTimers());

  it('never open more than the budget together, however many pools ask', async () => {
    budget = new Budget(budgetOf(3));
    const pools = [pool('d1', 'u1'), pool('d2', 'u1'), pool('d3', 'u2'), pool('d4', 'u2')];
    for (const p of pools) for (let i = 0; i < 3; i++) p.acquire(new Recorder());
    expect(f.opened).toHaveLength(3);
    expect(budget.snapshot()).toMatchObject({ inUse: 3, opening: 3, poolsWaiting: 3 });
  });

  it('a connection coming back goes to the older borrower of another pool: closed, and that pool opens once it is gone', async () => {
    budget = new Budget(budgetOf(1));
    const a = pool('d1', 'u1');
    const b = pool('d2', 'u2');
    const ra = new Recorder();
    a.acquire(ra);
    const c1 = await f.succeed();
    const rb = new Recorder();
    b.acquire(rb);
    a.acquire(new Recorder()); // a's next borrower came after b's
    a.release(c1);
    expect(f.closed).toEqual([[c1.id, 'a borrower of another pool has waited longer (the connection budget is full)']]);
    expect(f.opened).toHaveLength(0); // not before the closed one is gone
    f.gone();
    expect(f.opened).toHaveLength(1);
    const c2 = await f.succeed();
    expect(rb.got).toEqual([c2]);
    expect(a.waiting).toBe(1);
  });

  it("an idle pool's connection is closed for another pool's borrower when the budget is full", async () => {
    budget = new Budget(budgetOf(2));
    const a = pool('d1', 'u1');
    const b = pool('d2', 'u2');
    const c = pool('d3', 'u3');
    a.acquire(new Recorder());
    const ca = await f.succeed();
    a.release(ca);
    const rb = new Recorder();
    b.acquire(rb);
    await f.succeed();
    const rc = new Recorder();
    c.acquire(rc);
    expect(f.closed).toEqual([[ca.id, 'idle, closed for a borrower of another pool (the connection budget is full)']]);
    expect(a.idle).toEqual([]);
    f.gone();
    const cc = await f.succeed();
    expect(rc.got).toEqual([cc]);
    expect(budget.snapshot().inUse).toBe(2);
  });

  it('per-database limit: a pool of a full database waits while another database opens', async () => {
    budget = new Budget(budgetOf(4, 1));
    const a = pool('orders', 'u1');
    const b = pool('orders', 'u2');
    const c = pool('billing', 'u1');
    a.acquire(new Recorder());
    b.acquire(new Recorder());
    c.acquire(new Recorder());
    expect(f.opened.map((o) => o.slot !== undefined)).toEqual([true, true]);
    expect(b.waiting).toBe(1);
    expect(b.openingCount).toBe(0);
  });

  it('a borrow timeout says which limit held it back (53300)', async () => {
    budget = new Budget(budgetOf(5, 0, 1));
    const a = pool('d1', 'app');
    const b = pool('d2', 'app');
    a.acquire(new Recorder());
    await f.succeed();
    const rb = new Recorder();
    b.acquire(rb);
    vi.advanceTimersByTime(1_001);
    expect(rb.errors[0]!.sqlstate).toBe('53300');
    expect(rb.errors[0]!.message).toMatch(/user "app" has all its 1 connections in use \(pool\.maxUserConnections\)/);
  });

  it('a flip to another server: opens in flight to the old one stop counting, and what they become is closed', async () => {
    budget = new Budget(budgetOf(1));
    const a = pool('d1', 'u1');
    const r = new Recorder();
    a.acquire(r);
    expect(f.opened).toHaveLength(1);
    a.setGeneration(2, { abortBusy: true });
    expect(f.opened).toHaveLength(1); // the budget is full of the old open
    budget.releaseOpensBefore(2);
    expect(f.opened.map((o) => o.generation)).toEqual([0, 2]);
    const old = await f.succeed();
    expect(f.closed).toEqual([[old.id, 'target changed']]);
    f.gone(); // its slot was given back already: not twice
    expect(budget.snapshot().inUse).toBe(1);
    const fresh = await f.succeed();
    expect(r.got).toEqual([fresh]);
  });

  it('a flip to the same server: opens in flight keep their slots until they settle', async () => {
    budget = new Budget(budgetOf(1));
    const a = pool('d1', 'u1');
    const r = new Recorder();
    a.acquire(r);
    a.setGeneration(2);
    expect(f.opened).toHaveLength(1);
    await f.fail(new Error('connection refused'));
    expect(f.opened.map((o) => o.generation)).toEqual([2]);
    expect(budget.snapshot().inUse).toBe(1);
  });

  it('a failed open gives its slot to the pool that waits next', async () => {
    budget = new Budget(budgetOf(1));
    const a = pool('d1', 'u1');
    const b = pool('d2', 'u2');
    a.acquire(new Recorder());
    b.acquire(new Recorder());
    await f.fail(new Error('connection refused')); // a now waits for its retry timer
    expect(f.opened).toHaveLength(1);
    expect(budget.snapshot()).toMatchObject({ inUse: 1, opening: 1 });
  });
});
