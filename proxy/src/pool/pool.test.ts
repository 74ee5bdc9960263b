import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type BorrowError, PermanentOpenError, Pool, type PoolFactory, type Waiter } from './pool.js';

interface Conn {
  id: number;
  generation: number;
}

/** A connection factory whose opens the test resolves or fails by hand. */
class FakeFactory implements PoolFactory<Conn> {
  opened: { generation: number; resolve: (c: Conn) => void; reject: (e: Error) => void }[] = [];
  closed: [number, string][] = [];
  private next = 1;
  open(generation: number): Promise<Conn> {
    return new Promise((resolve, reject) => this.opened.push({ generation, resolve, reject }));
  }
  close(c: Conn, reason: string): void {
    this.closed.push([c.id, reason]);
  }
  aborted: [number, string][] = [];
  abort(c: Conn, reason: string): void {
    this.aborted.push([c.id, reason]);
  }
  /** Completes the oldest pending open. */
  async succeed(): Promise<Conn> {
    const o = this.opened.shift()!;
    const c = { id: this.next++, generation: o.generation };
    o.resolve(c);
    await Promise.resolve();
    await Promise.resolve();
    return c;
  }
  async fail(err: Error): Promise<void> {
    this.opened.shift()!.reject(err);
    await Promise.resolve();
    await Promise.resolve();
  }
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

const limits = { maxConnections: 2, maxIdleConnections: 1, borrowTimeoutMs: 1_000 };

describe('Pool', () => {
  let f: FakeFactory;
  let pool: Pool<Conn>;
  beforeEach(() => {
    vi.useFakeTimers();
    f = new FakeFactory();
    pool = new Pool(limits, f, {}, () => Date.now());
  });
  afterEach(() => vi.useRealTimers());

  it('opens a connection for the first borrower and reuses it synchronously afterwards', async () => {
    const a = new Recorder();
    pool.acquire(a);
    expect(f.opened).toHaveLength(1);
    const c = await f.succeed();
    expect(a.got).toEqual([c]);
    pool.release(c);
    const b = new Recorder();
    pool.acquire(b);
    expect(b.got).toEqual([c]); // served in the same tick
    expect(f.opened).toHaveLength(0);
  });

  it('never opens more than maxConnections and serves waiters in FIFO order', async () => {
    const rs = [new Recorder(), new Recorder(), new Recorder(), new Recorder()];
    rs.forEach((r) => pool.acquire(r));
    expect(f.opened).toHaveLength(2);
    const c1 = await f.succeed();
    const c2 = await f.succeed();
    expect(rs[0]!.got).toEqual([c1]);
    expect(rs[1]!.got).toEqual([c2]);
    pool.release(c2);
    expect(rs[2]!.got).toEqual([c2]);
    pool.release(c1);
    expect(rs[3]!.got).toEqual([c1]);
    expect(pool.size).toBe(2);
  });

  it('times out a waiter with SQLSTATE 53300 when the pool stays full', async () => {
    const first = new Recorder();
    const second = new Recorder();
    const third = new Recorder();
    pool.acquire(first);
    pool.acquire(second);
    await f.succeed();
    await f.succeed();
    pool.acquire(third);
    vi.advanceTimersByTime(1_001);
    expect(third.errors).toHaveLength(1);
    expect(third.errors[0]!.sqlstate).toBe('53300');
    expect(third.errors[0]!.timedOut).toBe(true);
    expect(pool.waiting).toBe(0);
  });

  it('keeps waiters queued and retries while the database is unreachable, then serves them', async () => {
    const r = new Recorder();
    pool.acquire(r);
    await f.fail(new Error('connection refused'));
    expect(r.errors).toEqual([]);
    await vi.advanceTimersByTimeAsync(150);
    expect(f.opened).toHaveLength(1);
    const c = await f.succeed();
    expect(r.got).toEqual([c]);
  });

  it('tells the waiter why when the borrow times out because the database is down (08000)', async () => {
    const r = new Recorder();
    pool.acquire(r);
    await f.fail(new Error('connection refused'));
    await vi.advanceTimersByTimeAsync(1_001);
    expect(r.errors[0]!.sqlstate).toBe('08000');
    expect(r.errors[0]!.message).toMatch(/connection refused/);
  });

  it('fails every waiter at once on a permanent error such as a wrong password', async () => {
    const a = new Recorder();
    const b = new Recorder();
    pool.acquire(a);
    pool.acquire(b);
    await f.fail(new PermanentOpenError('password authentication failed for user "x"', '28P01'));
    expect(a.errors[0]!.sqlstate).toBe('28P01');
    expect(b.errors[0]!.sqlstate).toBe('28P01');
  });

  it('keeps released connections, then trims those idle too long beyond maxIdleConnections', async () => {
    const a = new Recorder();
    const b = new Recorder();
    pool.acquire(a);
    pool.acquire(b);
    const c1 = await f.succeed();
    const c2 = await f.succeed();
    pool.release(c1);
    vi.advanceTimersByTime(5_000);
    pool.release(c2);
    expect(pool.idle).toEqual([c1, c2]);
    pool.trimIdle(10_000);
    expect(f.closed).toEqual([]); // nobody idle for 10 s yet
    vi.advanceTimersByTime(6_000);
    pool.trimIdle(10_000);
    expect(f.closed).toEqual([[c1.id, 'idle longer than the trim delay, above maxIdleConnections']]);
    expect(pool.idle).toEqual([c2]); // maxIdleConnections (1) stay
    vi.advanceTimersByTime(60_000);
    pool.trimIdle(10_000);
    expect(pool.idle).toEqual([c2]);
  });

  it('reuses the most recently released connection first (LIFO), so extras age out', async () => {
    const small = new Pool({ ...limits, maxIdleConnections: 2 }, f);
    const rs = [new Recorder(), new Recorder()];
    rs.forEach((r) => small.acquire(r));
    const c1 = await f.succeed();
    const c2 = await f.succeed();
    small.release(c1);
    small.release(c2);
    const r = new Recorder();
    small.acquire(r);
    expect(r.got).toEqual([c2]);
  });

  it('on a new generation closes idle connections now and busy ones when released', async () => {
    const a = new Recorder();
    const b = new Recorder();
    pool.acquire(a);
    pool.acquire(b);
    const c1 = await f.succeed();
    const c2 = await f.succeed();
    pool.release(c1);
    pool.setGeneration(1);
    expect(f.closed).toEqual([[c1.id, 'target changed']]);
    pool.release(c2);
    expect(f.closed).toEqual([
      [c1.id, 'target changed'],
      [c2.id, 'target changed'],
    ]);
    const r = new Recorder();
    pool.acquire(r);
    expect(f.opened.at(-1)!.generation).toBe(1);
  });

  it('opens still in flight to the old target do not hold back opens to the new one, and close if they succeed', async () => {
    const a = new Recorder();
    const b = new Recorder();
    pool.acquire(a);
    pool.acquire(b);
    expect(f.opened.map((o) => o.generation)).toEqual([0, 0]); // both hang (a vanished server)
    pool.setGeneration(1);
    expect(f.opened.map((o) => o.generation)).toEqual([0, 0, 1, 1]);
    expect([pool.openingCount, pool.staleOpeningCount]).toEqual([2, 2]);
    const old = await f.succeed();
    await f.fail(new Error('timed out after 10000 ms connecting')); // the other old open: no retry, no error to anyone
    expect(f.closed).toEqual([[old.id, 'target changed']]);
    const [n1, n2] = [await f.succeed(), await f.succeed()];
    expect([...a.got, ...b.got]).toEqual([n1, n2]);
    expect([a.errors, b.errors]).toEqual([[], []]);
    expect([pool.size, pool.staleOpeningCount]).toEqual([2, 0]);
  });

  it('with abortBusy, a new generation ends borrowed connections of older ones now; without it, on release', async () => {
    const a = new Recorder();
    const b = new Recorder();
    pool.acquire(a);
    pool.acquire(b);
    const [c1, c2] = [await f.succeed(), await f.succeed()];
    pool.setGeneration(1);
    expect(f.aborted).toEqual([]);
    pool.release(c1); // back on release: closed, as before
    expect(f.closed).toEqual([[c1.id, 'target changed']]);
    pool.setGeneration(2, { abortBusy: true });
    expect(f.aborted).toEqual([[c2.id, 'target changed']]);
  });

  it('a new generation ends the wait between retries: the waiter gets a connection to the new target at once', async () => {
    pool = new Pool({ ...limits, borrowTimeoutMs: 60_000 }, f, {}, () => Date.now());
    const a = new Recorder();
    pool.acquire(a);
    for (let i = 0; i < 5; i++) {
      await f.fail(new Error('connect ECONNREFUSED'));
      await vi.advanceTimersByTimeAsync(100 * 2 ** i); // the retry delay doubles: 100, 200, 400, 800, 1600
    }
    await f.fail(new Error('connect ECONNREFUSED')); // the next retry is 2000 ms away
    expect(f.opened).toHaveLength(0);
    pool.setGeneration(1);
    expect(f.opened.map((o) => o.generation)).toEqual([1]);
    const c = await f.succeed();
    expect(a.got).toEqual([c]);
    expect(a.errors).toEqual([]);
  });

  it('while held (no writer) queues borrowers without opening, and serves them when a target is named', async () => {
    pool.hold('no writer is available among the targets');
    const a = new Recorder();
    const b = new Recorder();
    pool.acquire(a);
    pool.acquire(b);
    await vi.advanceTimersByTimeAsync(500);
    expect(f.opened).toHaveLength(0);
    expect(pool.waiting).toBe(2);
    pool.setGeneration(1);
    expect(f.opened).toHaveLength(2);
    await f.succeed();
    await f.succeed();
    expect([a.got.length, b.got.length]).toEqual([1, 1]);
  });

  it('while held hands out no connection: idle ones close at once, a busy one closes on release instead of going to a waiter', async () => {
    const a = new Recorder();
    const b = new Recorder();
    pool.acquire(a);
    pool.acquire(b);
    const c1 = await f.succeed();
    const c2 = await f.succeed();
    pool.release(c1); // idle
    pool.hold('several targets are out of recovery (split brain)');
    expect(f.closed).toEqual([[c1.id, 'no writer']]);
    const w = new Recorder();
    pool.acquire(w);
    pool.release(c2);
    expect(f.closed).toEqual([
      [c1.id, 'no writer'],
      [c2.id, 'no writer'],
    ]);
    expect(w.got).toEqual([]);
    expect(f.opened).toHaveLength(0);
    pool.setGeneration(1);
    expect(f.opened.map((o) => o.generation)).toEqual([1]);
  });

  it('a borrower held past the borrow timeout is told there is no writer', async () => {
    pool.hold('no writer is available among the targets');
    const a = new Recorder();
    pool.acquire(a);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(a.errors.map((e) => [e.sqlstate, e.message])).toEqual([
      ['08000', 'timed out after 1000 ms waiting for a database connection: could not connect to the database: no writer is available among the targets'],
    ]);
  });

  it('forgets a cancelled waiter and does not count it', async () => {
    const a = new Recorder();
    const b = new Recorder();
    const c = new Recorder();
    pool.acquire(a);
    pool.acquire(b);
    pool.acquire(c);
    pool.cancel(b);
    expect(pool.waiting).toBe(2);
    const c1 = await f.succeed();
    expect(a.got).toEqual([c1]);
    pool.release(c1);
    expect(c.got).toEqual([c1]);
    expect(b.got).toEqual([]);
  });

  it('opens a replacement when a busy connection dies while others wait', async () => {
    const small = new Pool({ ...limits, maxConnections: 1 }, f);
    const a = new Recorder();
    const b = new Recorder();
    small.acquire(a);
    small.acquire(b);
    const c1 = await f.succeed();
    small.remove(c1);
    expect(f.opened).toHaveLength(1);
    const c2 = await f.succeed();
    expect(b.got).toEqual([c2]);
  });

  it('refuses borrowers after close', () => {
    pool.close();
    const r = new Recorder();
    pool.acquire(r);
    expect(r.errors[0]!.sqlstate).toBe('57P01');
  });
});

describe('Pool pause (the admin console PAUSE / RESUME)', () => {
  let f: FakeFactory;
  let pool: Pool<Conn>;
  beforeEach(() => {
    vi.useFakeTimers();
    f = new FakeFactory();
    pool = new Pool(limits, f, {}, () => Date.now());
  });
  afterEach(() => vi.useRealTimers());

  it('says drained at once when nothing is borrowed', () => {
    let drained = 0;
    pool.pause(() => drained++);
    expect(pool.paused).toBe(true);
    expect(drained).toBe(1);
  });

  it('says drained when the last borrowed connection comes back, and keeps it idle', async () => {
    const a = new Recorder();
    const b = new Recorder();
    pool.acquire(a);
    pool.acquire(b);
    const [c1, c2] = [await f.succeed(), await f.succeed()];
    let drained = 0;
    pool.pause(() => drained++);
    pool.release(c1);
    expect(drained).toBe(0);
    pool.remove(c2); // a lost connection counts as given back
    expect(drained).toBe(1);
    expect(pool.idle).toEqual([c1]);
  });

  it('holds new borrowers in the queue without opening, even with an idle connection, until resume', async () => {
    const a = new Recorder();
    pool.acquire(a);
    const c1 = await f.succeed();
    pool.release(c1);
    pool.pause();
    const b = new Recorder();
    const c = new Recorder();
    pool.acquire(b);
    pool.acquire(c);
    expect([b.got, c.got, f.opened.length, pool.waiting]).toEqual([[], [], 0, 2]);
    expect(pool.oldestWaitSince).toBe(Date.now());
    pool.resume();
    expect(b.got).toEqual([c1]); // the idle one first, in FIFO order
    expect(f.opened).toHaveLength(1); // then an open for the next
    const c2 = await f.succeed();
    expect(c.got).toEqual([c2]);
    expect(pool.paused).toBe(false);
  });

  it('keeps a connection released while paused from the waiters', async () => {
    const a = new Recorder();
    pool.acquire(a);
    const c1 = await f.succeed();
    pool.pause();
    const b = new Recorder();
    pool.acquire(b);
    pool.release(c1);
    expect(b.got).toEqual([]);
    pool.resume();
    expect(b.got).toEqual([c1]);
  });

  it('times a held borrower out as usual (53300)', async () => {
    pool.pause();
    const a = new Recorder();
    pool.acquire(a);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(a.errors.map((e) => [e.sqlstate, e.timedOut])).toEqual([['53300', true]]);
    expect(pool.waiting).toBe(0);
  });

  it('forgets drained callbacks on resume', async () => {
    const a = new Recorder();
    pool.acquire(a);
    const c1 = await f.succeed();
    let drained = 0;
    pool.pause(() => drained++);
    pool.resume();
    pool.release(c1);
    expect(drained).toBe(0);
  });
});
