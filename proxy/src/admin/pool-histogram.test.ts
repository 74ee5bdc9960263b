import { Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { PoolHistogram } from './pool-histogram.js';

const BOUNDS = [0.001, 0.01, 0.1, 1];
const SAMPLES = [0, 0.0005, 0.001, 0.002, 0.01, 0.05, 0.5, 1, 2, 100];

describe('PoolHistogram', () => {
  it("formats exactly as prom-client's own Histogram for the same observations", async () => {
    const ours = new Registry();
    const theirs = new Registry();
    const h = new PoolHistogram('x_seconds', 'help text', ['database', 'user'], BOUNDS, ours);
    const ref = new Histogram({ name: 'x_seconds', help: 'help text', labelNames: ['database', 'user'], buckets: BOUNDS, registers: [theirs] });
    for (const [db, user] of [
      ['a', 'u'],
      ['b', 'v'],
    ] as const) {
      const child = h.child({ database: db, user });
      for (const v of SAMPLES) {
        child.observe(v);
        ref.observe({ database: db, user }, v);
      }
    }
    expect(await ours.metrics()).toBe(await theirs.metrics());
  });

  it('gives one child per label set, and forgets a removed one', async () => {
    const r = new Registry();
    const h = new PoolHistogram('y_seconds', 'y', ['database'], BOUNDS, r);
    expect(h.child({ database: 'a' })).toBe(h.child({ database: 'a' }));
    h.child({ database: 'a' }).observe(0.5);
    h.child({ database: 'b' }).observe(0.5);
    h.remove({ database: 'a' });
    const text = await r.metrics();
    expect(text).not.toContain('database="a"');
    expect(text).toContain('y_seconds_count{database="b"} 1');
  });

  it('refuses buckets that do not increase', () => {
    expect(() => new PoolHistogram('z', 'z', [], [1, 1], new Registry())).toThrow(/increase/);
  });
});
