import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { TargetMonitor, type WriterChange } from './monitor.js';
import type { ProbeResult } from '../../../contract/health/probe.js';

const W: ProbeResult = { ok: true, inRecovery: false, maxConnections: 100, serverVersion: '15.8' };
const R: ProbeResult = { ok: true, inRecovery: true, maxConnections: 100, serverVersion: '15.8' };
const X: ProbeResult = { ok: false, reason: 'UNREACHABLE', message: 'refused' };

/** A probe that answers each endpoint from its script, repeating the last answer when it runs out. */
function scripted(script: Record<string, (ProbeResult | Error)[]>) {
  const calls: string[] = [];
  const probe = (ep: string): Promise<ProbeResult> => {
    calls.push(ep);
    const steps = script[ep]!;
    const step = steps.length > 1 ? steps.shift()! : steps[0]!;
    if (step instanceof Error) {
      if (ep.startsWith('sync')) throw step;
      return Promise.reject(step);
    }
    return Promise.resolve(step);
  };
  return { probe, calls };
}

function monitorOf(endpoints: string[], probe: (ep: string) => Promise<ProbeResult>, failureThreshold = 2) {
  const m = new TargetMonitor({ endpoints, intervalMs: 1_000, failureThreshold, timeoutMs: 500, user: 'u', password: 'p', probe });
  const changes: WriterChange[] = [];
  m.on('change', (c) => changes.push(c));
  return { m, changes };
}

describe('TargetMonitor (scripted probes, fake timers)', () => {
  beforeEach(() => void vi.useFakeTimers());
  afterEach(() => void vi.useRealTimers());

  it('announces the first writer at generation 1 and stays quiet while it holds', async () => {
    const { probe } = scripted({ a: [W], b: [R] });
    const { m, changes } = monitorOf(['a', 'b'], probe);
    m.start();
    await vi.advanceTimersByTimeAsync(5_500);
    m.stop();
    expect(changes).toHaveLength(1);
    expect(changes[0]).toMatchObject({ writer: 'a', generation: 1 });
  });

  it('loses the writer only after the threshold, counted over fast rounds, then flips with the next generation', async () => {
    const { probe, calls } = scripted({ a: [W, X, X, X], b: [R, R, R, R, W] });
    const { m, changes } = monitorOf(['a', 'b'], probe, 2);
    m.start();
    await vi.advanceTimersByTimeAsync(1_010); // round 1 at 0: a is the writer; round 2 at 1000: one failure tolerated
    expect(changes.map((c) => c.writer)).toEqual(['a']);
    expect(calls.filter((c) => c === 'a')).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(100); // round 3, a fast one (a missed a probe): second failure
    expect(changes.map((c) => [c.writer, c.generation])).toEqual([
      ['a', 1],
      [undefined, 1],
    ]);
    await vi.advanceTimersByTimeAsync(200); // rounds 4-5, fast while there is no writer: b answers as a primary
    m.stop();
    expect(changes.map((c) => [c.writer, c.generation])).toEqual([
      ['a', 1],
      [undefined, 1],
      ['b', 2],
    ]);
    expect(changes[2]!.healths).toEqual([
      expect.objectContaining({ endpoint: 'a', state: 'UNAVAILABLE', role: 'UNKNOWN' }),
      expect.objectContaining({ endpoint: 'b', state: 'AVAILABLE', role: 'WRITER' }),
    ]);
  });

  it('goes back to the configured interval once a writer answers', async () => {
    const { probe, calls } = scripted({ a: [X, X, W] });
    const { m } = monitorOf(['a'], probe);
    m.start();
    await vi.advanceTimersByTimeAsync(210); // rounds at 0, 100, 200: the third finds the writer
    expect(calls).toHaveLength(3);
    await vi.advanceTimersByTimeAsync(900);
    expect(calls).toHaveLength(3);
    await vi.advanceTimersByTimeAsync(100); // 1200: the interval
    m.stop();
    expect(calls).toHaveLength(4);
  });

  it('suspect() probes at once, at most once per fast interval, and keeps rounds fast until the writer answers', async () => {
    const { probe, calls } = scripted({ a: [W, W, X, X], b: [R, R, R, R, W] });
    const { m, changes } = monitorOf(['a', 'b'], probe);
    m.start();
    await vi.advanceTimersByTimeAsync(500);
    expect(calls).toEqual(['a', 'b']);
    m.suspect(); // 500: the next round runs now, not at 1000
    m.suspect();
    await vi.advanceTimersByTimeAsync(0);
    expect(calls).toHaveLength(4); // a answered: the writer is fine
    m.suspect(); // a second suspicion within 100 ms waits for the fast interval
    await vi.advanceTimersByTimeAsync(50);
    expect(calls).toHaveLength(4);
    await vi.advanceTimersByTimeAsync(50); // 600: a fails once, b is promoted later
    expect(calls).toHaveLength(6);
    await vi.advanceTimersByTimeAsync(200); // 700: second failure, writer lost; 800: b is the writer
    m.stop();
    expect(changes.map((c) => c.writer)).toEqual(['a', undefined, 'b']);
  });

  it('a monitor seeded with the writer and healths of the one it replaces announces no change for the same writer', async () => {
    const { probe } = scripted({ a: [W], b: [R] });
    const first = monitorOf(['a', 'b'], probe);
    first.m.start();
    await vi.advanceTimersByTimeAsync(0);
    first.m.stop();
    const seed = { writer: first.m.current().writer, healths: first.m.snapshot() };
    const m = new TargetMonitor({
      endpoints: ['a', 'b', 'c'],
      intervalMs: 1_000,
      failureThreshold: 2,
      timeoutMs: 500,
      user: 'u',
      password: 'p',
      probe: scripted({ a: [X, W], b: [R], c: [R] }).probe,
      seed,
    });
    const changes: WriterChange[] = [];
    m.on('change', (c) => changes.push(c));
    m.start();
    await vi.advanceTimersByTimeAsync(1_500); // a misses one probe (under the threshold), then answers
    m.stop();
    expect(changes).toEqual([]);
    expect(m.current().writer).toBe('a');
  });

  it('a probe that throws or rejects counts as a failure and the loop goes on', async () => {
    const { probe, calls } = scripted({ 'sync-a': [new Error('bad endpoint')], b: [new Error('bug'), W] });
    const { m, changes } = monitorOf(['sync-a', 'b'], probe);
    m.start();
    await vi.advanceTimersByTimeAsync(1_500); // 0: both fail; 100 (fast, no writer): b answers; 1100
    m.stop();
    expect(calls.filter((c) => c === 'b')).toHaveLength(3);
    expect(changes.map((c) => c.writer)).toEqual(['b']);
    expect(m.snapshot()[0]).toMatchObject({ endpoint: 'sync-a', state: 'UNAVAILABLE', reason: 'CONNECTION_FAILED', message: 'bad endpoint' });
  });

  it('stop() ends probing; start() twice runs one loop', async () => {
    const { probe, calls } = scripted({ a: [W] });
    const { m } = monitorOf(['a'], probe);
    m.start();
    m.start();
    await vi.advanceTimersByTimeAsync(2_500);
    expect(calls).toHaveLength(3);
    m.stop();
    await vi.advanceTimersByTimeAsync(5_000);
    expect(calls).toHaveLength(3);
  });
});
