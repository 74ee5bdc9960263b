/**
 * The budget under random sequences of events (fake pools, testing/budget-pool.ts): its counts
 * match what the pools hold, never pass a limit, and once the load ends everyone waiting was served
 * (no stall, whatever order opens, closes and returns come in).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FakePool, resetClock } from '../testing/budget-pool.js';
import { Budget } from './budget.js';

describe('Budget, random events', () => {
  it('random events: the counts match the pools, never pass a limit, and everyone waiting is served once the load ends', () => {
    const POOLS: [string, string][] = [
      ['d1', 'u1'],
      ['d1', 'u2'],
      ['d2', 'u1'],
      ['d2', 'u2'],
      ['d3', 'u3'],
    ];
    const EVENTS = ['wants', 'wants', 'wants', 'opened', 'fails', 'returns', 'returns', 'gone', 'leaves', 'stale', 'flip', 'flip-moved'] as const;
    fc.assert(
      fc.property(
        fc.record({
          maxConnections: fc.integer({ min: 1, max: 5 }),
          maxDbConnections: fc.integer({ min: 0, max: 3 }),
          maxUserConnections: fc.integer({ min: 0, max: 3 }),
        }),
        fc.array(fc.tuple(fc.integer({ min: 0, max: POOLS.length - 1 }), fc.constantFrom(...EVENTS)), { maxLength: 120 }),
        fc.array(fc.nat(), { minLength: 1, maxLength: 20 }),
        (limits, events, order) => {
          resetClock();
          const budget = new Budget(limits);
          const pools = POOLS.map(([db, user]) => {
            const p = new FakePool(db, user);
            p.share = budget.join(p);
            return p;
          });
          let generation = 1;
          const check = () => {
            expect(budget.snapshot().inUse).toBe(pools.reduce((n, p) => n + p.holding, 0));
            const sum = (f: (p: FakePool) => boolean) => pools.filter(f).reduce((n, p) => n + p.holding, 0);
            expect(sum(() => true)).toBeLessThanOrEqual(limits.maxConnections);
            for (const p of pools) {
              if (limits.maxDbConnections > 0) expect(sum((q) => q.database === p.database)).toBeLessThanOrEqual(limits.maxDbConnections);
              if (limits.maxUserConnections > 0) expect(sum((q) => q.user === p.user)).toBeLessThanOrEqual(limits.maxUserConnections);
            }
          };
          const act = (p: FakePool, e: (typeof EVENTS)[number]): void => {
            if (e === 'wants') p.wants();
            else if (e === 'opened' && p.opening.length > 0) p.opened();
            else if (e === 'fails' && p.opening.length > 0) p.fails();
            else if (e === 'returns' && p.busy.length > 0) p.returns();
            else if (e === 'gone' && p.closing.length > 0) p.gone();
            else if (e === 'leaves' && p.waiting.length > p.opening.length) p.leaves();
            else if (e === 'stale' && p.stale.length > 0) p.staleOpened();
            else if (e === 'stale' && p.ghosts.length > 0) p.ghostSettles();
            else if (e === 'flip' || e === 'flip-moved') {
              generation++;
              for (const q of pools) q.flip(generation, e === 'flip-moved');
              if (e === 'flip-moved') budget.releaseOpensBefore(generation);
            }
          };
          for (const [i, e] of events) {
            act(pools[i]!, e);
            check();
          }
          // The load ends: every open completes, every connection comes back, every close is done,
          // in an order of events the run picks.
          for (let n = 0; n < 10_000; n++) {
            const steps = pools.flatMap((p) => [
              ...(p.opening.length > 0 ? [() => p.opened()] : []),
              ...(p.stale.length > 0 ? [() => p.staleOpened()] : []),
              ...(p.ghosts.length > 0 ? [() => p.ghostSettles()] : []),
              ...(p.closing.length > 0 ? [() => p.gone()] : []),
              ...(p.busy.length > 0 ? [() => p.returns()] : []),
            ]);
            if (steps.length === 0) break;
            steps[order[n % order.length]! % steps.length]!();
            check();
          }
          expect(pools.map((p) => p.waiting.length)).toEqual(pools.map(() => 0));
        },
      ),
      { numRuns: 300 },
    );
  });
});
