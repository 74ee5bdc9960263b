import { describe, expect, it } from 'vitest';
import { backoffDelay, jittered } from '../../../contract/kube/backoff.js';
import type { Clock } from '../../../contract/kube/clock.js';
import { WorkQueue } from './workqueue.js';

/** A clock that moves only when the test says so. */
class ManualClock implements Clock {
  private t = 0;
  private seq = 0;
  private timers = new Map<number, { at: number; fn: () => void }>();
  now(): number {
    return this.t;
  }
  setTimeout(fn: () => void, ms: number): number {
    const id = ++this.seq;
    this.timers.set(id, { at: this.t + ms, fn });
    return id;
  }
  clearTimeout(h: unknown): void {
    this.timers.delete(h as number);
  }
  pending(): number[] {
    return [...this.timers.values()].map((t) => t.at - this.t).sort((a, b) => a - b);
  }
  advance(ms: number): void {
    const until = this.t + ms;
    for (;;) {
      const due = [...this.timers.entries()].filter(([, t]) => t.at <= until).sort((a, b) => a[1].at - b[1].at)[0];
      if (!due) break;
      this.timers.delete(due[0]);
      this.t = due[1].at;
      due[1].fn();
    }
    this.t = until;
  }
}

/** Lets queued handler promises settle (they only await other promises, never timers). */
const settle = async (): Promise<void> => {
  for (let i = 0; i < 20; i++) await Promise.resolve();
};

function deferred(): { promise: Promise<void>; resolve: () => void; reject: (e: Error) => void } {
  let resolve!: () => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe('WorkQueue', () => {
  it('runs a key added several times before it starts only once', async () => {
    const q = new WorkQueue({ clock: new ManualClock() });
    const runs: string[] = [];
    q.add('a');
    q.add('a');
    q.add('b');
    q.add('a');
    expect(q.length()).toBe(2);
    q.run(async (k) => void runs.push(k));
    await settle();
    expect(runs).toEqual(['a', 'b']);
    expect(q.length()).toBe(0);
  });

  it('keeps first-added order', async () => {
    const q = new WorkQueue({ clock: new ManualClock() });
    const runs: string[] = [];
    for (const k of ['c', 'a', 'b', 'a', 'c', 'd']) q.add(k);
    q.run(async (k) => void runs.push(k));
    await settle();
    expect(runs).toEqual(['c', 'a', 'b', 'd']);
  });

  it('never runs one key concurrently and re-runs a key re-added while running', async () => {
    const q = new WorkQueue({ clock: new ManualClock() });
    const gates = [deferred(), deferred()];
    let running = 0;
    let maxRunning = 0;
    let calls = 0;
    q.run(async () => {
      const gate = gates[calls++]!;
      running++;
      maxRunning = Math.max(maxRunning, running);
      await gate.promise;
      running--;
    }, 4);
    q.add('a');
    await settle();
    expect(calls).toBe(1);
    q.add('a'); // while running: queued for after
    q.add('a'); // coalesces with the previous re-add
    await settle();
    expect(calls).toBe(1);
    gates[0]!.resolve();
    await settle();
    expect(calls).toBe(2);
    gates[1]!.resolve();
    await settle();
    expect(calls).toBe(2);
    expect(maxRunning).toBe(1);
  });

  it('runs different keys in parallel up to the concurrency', async () => {
    const q = new WorkQueue({ clock: new ManualClock() });
    const gate = deferred();
    const started: string[] = [];
    q.run(async (k) => {
      started.push(k);
      await gate.promise;
    }, 2);
    for (const k of ['a', 'b', 'c']) q.add(k);
    await settle();
    expect(started).toEqual(['a', 'b']);
    expect(q.length()).toBe(1);
    gate.resolve();
    await settle();
    expect(started).toEqual(['a', 'b', 'c']);
  });

  it('retries a failing key with exponential backoff and resets it after a success', async () => {
    const clock = new ManualClock();
    const errors: Array<[string, number]> = [];
    const q = new WorkQueue({ clock, baseDelayMs: 100, maxDelayMs: 1_000, onError: (k, _e, n) => errors.push([k, n]) });
    let failUntil = 5;
    let calls = 0;
    q.run(async () => {
      calls++;
      if (calls <= failUntil) throw new Error(`fail ${calls}`);
    });
    q.add('k');
    await settle();
    const delays: number[] = [];
    for (let i = 0; i < 5; i++) {
      delays.push(clock.pending()[0]!);
      clock.advance(clock.pending()[0]!);
      await settle();
    }
    expect(delays).toEqual([100, 200, 400, 800, 1_000]);
    expect(calls).toBe(6);
    expect(errors.map(([, n]) => n)).toEqual([1, 2, 3, 4, 5]);
    expect(clock.pending()).toEqual([]);
    // After the success the next failure starts from the base delay again.
    failUntil = 7;
    q.add('k');
    await settle();
    expect(calls).toBe(7);
    expect(clock.pending()).toEqual([100]);
  });

  it('backs off per key: one failing key does not delay another', async () => {
    const clock = new ManualClock();
    const q = new WorkQueue({ clock, baseDelayMs: 100 });
    const runs: string[] = [];
    q.run(async (k) => {
      runs.push(k);
      if (k === 'bad') throw new Error('no');
    });
    q.add('bad');
    q.add('good');
    await settle();
    q.add('good');
    await settle();
    expect(runs).toEqual(['bad', 'good', 'good']);
    clock.advance(100);
    await settle();
    expect(runs).toEqual(['bad', 'good', 'good', 'bad']);
  });

  it('honours requeueAfterMs and keeps the earliest of several delays', async () => {
    const clock = new ManualClock();
    const q = new WorkQueue({ clock });
    const runs: number[] = [];
    q.run(async () => {
      runs.push(clock.now());
      return runs.length === 1 ? { requeueAfterMs: 5_000 } : undefined;
    });
    q.add('k');
    await settle();
    q.addAfter('k', 2_000);
    q.addAfter('k', 9_000);
    expect(clock.pending()).toEqual([2_000]);
    clock.advance(10_000);
    await settle();
    expect(runs).toEqual([0, 2_000]);
  });

  it('treats a non-positive delay as an immediate add', async () => {
    const q = new WorkQueue({ clock: new ManualClock() });
    q.addAfter('x', 0);
    q.addAfter('y', -5);
    expect(q.length()).toBe(2);
  });

  it('shutdown waits for running handlers, drops delayed keys and ignores new adds', async () => {
    const clock = new ManualClock();
    const q = new WorkQueue({ clock });
    const gate = deferred();
    const runs: string[] = [];
    q.run(async (k) => {
      runs.push(k);
      await gate.promise;
    });
    q.add('a');
    q.add('b');
    q.addAfter('c', 1_000);
    await settle();
    let done = false;
    const stopped = q.shutdown().then(() => (done = true));
    q.add('d');
    await settle();
    expect(done).toBe(false);
    gate.resolve();
    await stopped;
    clock.advance(5_000);
    await settle();
    expect(runs).toEqual(['a']);
    expect(clock.pending()).toEqual([]);
  });

  it('rejects bad run arguments clearly', () => {
    const q = new WorkQueue();
    expect(() => q.run(async () => undefined, 0)).toThrow(/positive integer/);
    q.run(async () => undefined);
    expect(() => q.run(async () => undefined)).toThrow(/already/);
  });
});

describe('backoff', () => {
  it('doubles from the base and stops at the cap', () => {
    expect([0, 1, 2, 3, 4, 10, 100].map((n) => backoffDelay(n, 250, 10_000))).toEqual([0, 250, 500, 1_000, 2_000, 10_000, 10_000]);
  });
  it('spreads by the jitter fraction and never exceeds the cap', () => {
    expect(backoffDelay(3, 100, 10_000, 0.5, 0)).toBe(200);
    expect(backoffDelay(3, 100, 10_000, 0.5, 1)).toBe(600);
    expect(backoffDelay(20, 100, 1_000, 0.5, 1)).toBe(1_000);
    expect(jittered(300_000, 0.1, 0)).toBe(270_000);
    expect(jittered(300_000, 0.1, 1)).toBe(330_000);
  });
});
