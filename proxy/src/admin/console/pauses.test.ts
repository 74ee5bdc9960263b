import { describe, expect, it } from 'vitest';
import { Pool, type Waiter } from '../../pool/pool.js';
import { ConsoleError } from './commands.js';
import { Pauses } from './pauses.js';

interface Member {
  generation: number;
}

/** A real Pool whose opens complete at once with a fake member. */
function handle(database: string): { database: string; pool: Pool<Member> } {
  return {
    database,
    pool: new Pool<Member>(
      { maxConnections: 2, maxIdleConnections: 2, borrowTimeoutMs: 60_000 },
      { open: async (generation) => ({ generation }), close: () => {} },
    ),
  };
}

async function borrow(h: { pool: Pool<Member> }): Promise<Member> {
  return new Promise((resolve, reject) => {
    const w: Waiter<Member> = { onBackend: resolve, onBorrowError: reject };
    h.pool.acquire(w);
  });
}

const settled = async (p: Promise<unknown>): Promise<string> => {
  let state = 'pending';
  p.then(
    () => (state = 'resolved'),
    (e: Error) => (state = `rejected: ${e.message}`),
  );
  for (let i = 0; i < 5; i++) await Promise.resolve();
  return state;
};

describe('Pauses', () => {
  it('PAUSE of one database waits for its borrowed connections only, and covers its later pools', async () => {
    const [a, b] = [handle('a'), handle('b')];
    const [ca] = [await borrow(a), await borrow(b)];
    const p = new Pauses();
    const paused = p.pause('a', [a, b]);
    expect([a.pool.paused, b.pool.paused]).toEqual([true, false]);
    expect(await settled(paused)).toBe('pending');
    a.pool.release(ca!);
    expect(await settled(paused)).toBe('resolved');
    expect([p.covers('a'), p.covers('b')]).toEqual([true, false]);
  });

  it('PAUSE of everything resolves at once with nothing borrowed; RESUME resumes every pool', async () => {
    const [a, b] = [handle('a'), handle('b')];
    const p = new Pauses();
    expect(await settled(p.pause(undefined, [a, b]))).toBe('resolved');
    expect(p.covers('a database with no pool yet')).toBe(true);
    p.resume(undefined, [a, b]);
    expect([a.pool.paused, b.pool.paused, p.covers('a')]).toEqual([false, false, false]);
  });

  it('a RESUME while a PAUSE waits ends that PAUSE with 57014', async () => {
    const a = handle('a');
    await borrow(a);
    const p = new Pauses();
    const paused = p.pause('a', [a]);
    p.resume('a', [a]);
    expect(await settled(paused)).toBe('rejected: PAUSE canceled: RESUME was issued while it waited');
    await paused.catch((e: ConsoleError) => expect(e.code).toBe('57014'));
    expect(a.pool.paused).toBe(false);
  });

  it.each([
    ['nothing paused, RESUME', [], undefined, 'nothing is paused'],
    ['another database paused', ['b'], 'a', 'database "a" is not paused'],
    ['everything paused, RESUME of one', [undefined], 'a', 'every database is paused (PAUSE without a name): RESUME without a name resumes them'],
  ] as const)('refuses RESUME (55000): %s', async (_what, pausedFirst, resume, message) => {
    const p = new Pauses();
    for (const d of pausedFirst) await p.pause(d, []);
    let err: unknown;
    try {
      p.resume(resume, []);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConsoleError);
    expect([(err as ConsoleError).code, (err as ConsoleError).message]).toEqual(['55000', message]);
  });

  it('RESUME of one database leaves the others paused', async () => {
    const [a, b] = [handle('a'), handle('b')];
    const p = new Pauses();
    await p.pause('a', [a, b]);
    await p.pause('b', [a, b]);
    p.resume('a', [a, b]);
    expect([a.pool.paused, b.pool.paused]).toEqual([false, true]);
  });
});
