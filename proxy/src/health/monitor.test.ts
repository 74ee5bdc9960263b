import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { TargetMonitor, type WriterChange } from './monitor.js';
import type { ProbeResult } from './probe.js';

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

  it('loses the writer only after the threshold, then flips to the new one with the next generation', async () => {
    const { probe } = scripted({ a: [W, X, X, X], b: [R, R, R, R, W] });
    const { m, changes } = monitorOf(['a', 'b'], probe, 2);
    m.start();
    await vi.advanceTimersByTimeAsync(1_100); // rounds 1-2: a is the writer, one failure tolerated
    expect(changes.map((c) => c.writer)).toEqual(['a']);
    await vi.advanceTimersByTimeAsync(1_000); // round 3: second failure
    expect(changes.map((c) => [c.writer, c.generation])).toEqual([
      ['a', 1],
      [undefined, 1],
    ]);
    await vi.advanceTimersByTimeAsync(2_000); // round 5: b answers as a primary
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

  it('a probe that throws or rejects counts as a failure and the loop goes on', async () => {
    const { probe, calls } = scripted({ 'sync-a': [new Error('bad endpoint')], b: [new Error('bug'), W] });
    const { m, changes } = monitorOf(['sync-a', 'b'], probe);
    m.start();
    await vi.advanceTimersByTimeAsync(2_500);
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
