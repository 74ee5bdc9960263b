import { describe, expect, it } from 'vitest';
import { WaiterQueue } from './waiters.js';

describe('WaiterQueue', () => {
  it('keeps arrival order across holes left by those who gave up', () => {
    const q = new WaiterQueue<number>();
    for (const n of [1, 2, 3, 4, 5]) q.push(n);
    expect(q.remove((n) => n === 2)).toBe(true);
    expect(q.remove((n) => n === 4)).toBe(true);
    expect(q.remove((n) => n === 9)).toBe(false);
    expect(q.size).toBe(3);
    expect([q.peek(), q.at(1), q.at(2), q.at(3)]).toEqual([1, 3, 5, undefined]);
    expect([q.shift(), q.shift(), q.shift(), q.shift()]).toEqual([1, 3, 5, undefined]);
    expect(q.size).toBe(0);
  });

  it('stays in order through many pushes and shifts (compaction)', () => {
    const q = new WaiterQueue<number>();
    const out: number[] = [];
    for (let n = 0; n < 5_000; n++) {
      q.push(n);
      if (n % 3 === 0) q.remove((x) => x === n);
      if (n % 2 === 1) out.push(q.shift()!);
    }
    for (let e = q.shift(); e !== undefined; e = q.shift()) out.push(e);
    expect(out).toEqual(Array.from({ length: 5_000 }, (_, n) => n).filter((n) => n % 3 !== 0));
  });
});
