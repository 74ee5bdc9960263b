import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_MAX_CONNECTIONS, idlePerPod, limitPerPod, poolSizePerPod, readerPoolSizePerPod } from './pool-size.js';

describe('poolSizePerPod', () => {
  it.each([
    [100, 100, 2, 50],
    [100, 90, 2, 45],
    [500, 90, 3, 150],
    [101, 100, 2, 50], // floor
    [10, 10, 4, 1], // at least one
    [1, 1, 100, 1],
  ])('max_connections %i × %i%% / %i replicas = %i', (max, pct, replicas, want) => {
    expect(poolSizePerPod(max, pct, replicas)).toBe(want);
  });

  it("uses PostgreSQL's default max_connections while the real one is unknown", () => {
    expect(poolSizePerPod(undefined, 100, 2)).toBe(DEFAULT_MAX_CONNECTIONS / 2);
    expect(poolSizePerPod(0, 100, 1)).toBe(DEFAULT_MAX_CONNECTIONS);
  });

  it('the fleet never exceeds its share (unless one per pod is already more)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 10_000 }), fc.integer({ min: 1, max: 100 }), fc.integer({ min: 1, max: 100 }), (max, pct, replicas) => {
        const per = poolSizePerPod(max, pct, replicas);
        expect(per).toBeGreaterThanOrEqual(1);
        if (per > 1) expect(per * replicas).toBeLessThanOrEqual((max * pct) / 100);
      }),
    );
  });
});

describe('idlePerPod', () => {
  it.each([
    [50, 50, 25],
    [45, 25, 11],
    [10, 0, 0],
    [10, 100, 10],
  ])('pool %i at %i%% idle keeps %i', (pool, pct, want) => expect(idlePerPod(pool, pct)).toBe(want));
});

describe('readerPoolSizePerPod', () => {
  it.each([
    [[100], 50, 2, 25], // one reader: its share, split over the pods
    [[100, 100], 50, 2, 50], // two readers: twice the connections, each reader still gets its share
    [[200, 60], 50, 2, 30], // the smallest reader bounds each share: 60 × 2 × 50% / 2
    [[100, undefined], 100, 1, 100], // a reader not yet probed does not count
  ] as const)('readers %j at %i%% over %i pods → %i', (maxes, pct, replicas, size) => {
    expect(readerPoolSizePerPod(maxes, pct, replicas)).toBe(size);
  });

  it('is unknown (the writer size applies) while no reader max_connections is known', () => {
    expect(readerPoolSizePerPod([], 50, 2)).toBeUndefined();
    expect(readerPoolSizePerPod([undefined, 0, Number.NaN], 50, 2)).toBeUndefined();
  });

  it('never opens more on any reader than its share of max_connections', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 2, max: 5000 }), { minLength: 1, maxLength: 5 }),
        fc.integer({ min: 1, max: 100 }),
        fc.integer({ min: 1, max: 20 }),
        (maxes, pct, replicas) => {
          const size = readerPoolSizePerPod(maxes, pct, replicas)!;
          const perReader = Math.ceil((size * replicas) / maxes.length); // round-robin spreads them evenly
          const share = Math.floor((Math.min(...maxes) * pct) / 100);
          return size === 1 || perReader <= Math.max(1, share) + 1;
        },
      ),
    );
  });
});

describe('limitPerPod', () => {
  it.each([
    [45, 50, 22],
    [45, 100, 45],
    [10, 25, 2],
    [3, 10, 1], // at least one
  ])('pool %i at %i%% per database or user allows %i', (pool, pct, want) => expect(limitPerPod(pool, pct)).toBe(want));
});
