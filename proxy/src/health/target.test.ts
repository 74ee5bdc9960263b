import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ProbeResult } from '../../../contract/health/probe.js';
import { TargetOwner, type Flip, type TargetSettings } from './target.js';

const W: ProbeResult = { ok: true, inRecovery: false, maxConnections: 100, serverVersion: '15.8' };
const R: ProbeResult = { ok: true, inRecovery: true, maxConnections: 100, serverVersion: '15.8' };
const X: ProbeResult = { ok: false, reason: 'UNREACHABLE', message: 'refused' };

const ep = (s: string) => ({ host: s.split(':')[0]!, port: Number(s.split(':')[1]) });
const settings = (targets: string[], more: Partial<TargetSettings> = {}): TargetSettings => ({
  targets: targets.map(ep),
  targetGeneration: 0,
  healthCheck: { interval: 1_000, failureThreshold: 2, timeout: 500 },
  probeUser: { username: 'u', password: 'p' },
  ...more,
});

/** An owner whose probes answer from `answers` (changed by the test), recording flips and losses. */
function ownerOf(answers: Record<string, ProbeResult>) {
  const probes: string[] = [];
  const owner = new TargetOwner(async (e) => (probes.push(e), answers[e] ?? X));
  const events: (Flip | 'lost')[] = [];
  owner.on('flip', (f) => events.push(f));
  owner.on('lost', () => events.push('lost'));
  return { owner, events, probes };
}

describe('TargetOwner', () => {
  beforeEach(() => void vi.useFakeTimers());
  afterEach(() => void vi.useRealTimers());

  it.each<{ name: string; steps: Partial<TargetSettings & { at: string }>[]; want: [string, number, boolean, boolean][] }>([
    { name: 'the first target is not a failover', steps: [{ at: 'a:1' }], want: [['a:1', 0, true, false]] },
    { name: "the operator's generation is taken as is", steps: [{ at: 'a:1', targetGeneration: 3 }], want: [['a:1', 3, true, false]] },
    { name: 'the same config again changes nothing', steps: [{ at: 'a:1' }, { at: 'a:1' }], want: [['a:1', 0, true, false]] },
    {
      name: 'another host flips with the next generation',
      steps: [{ at: 'a:1' }, { at: 'b:1' }],
      want: [
        ['a:1', 0, true, false],
        ['b:1', 1, false, true],
      ],
    },
    {
      name: 'a higher generation for the same host flips',
      steps: [
        { at: 'a:1', targetGeneration: 1 },
        { at: 'a:1', targetGeneration: 2 },
      ],
      want: [
        ['a:1', 1, true, false],
        ['a:1', 2, false, false],
      ],
    },
  ])('one configured target: $name', ({ steps, want }) => {
    const { owner, events } = ownerOf({});
    for (const s of steps) owner.apply(settings([s.at!], s.targetGeneration === undefined ? {} : { targetGeneration: s.targetGeneration }));
    expect(events.map((e) => (e === 'lost' ? e : [`${e.target.host}:${e.target.port}`, e.generation, e.first, e.moved]))).toEqual(want);
    expect(owner.snapshot()).toBeNull();
  });

  it('a reload keeps probing and does not flip while the writer stays the same', async () => {
    const answers = { 'a:1': W, 'b:1': R, 'c:1': R };
    const { owner, events, probes } = ownerOf(answers);
    owner.apply(settings(['a:1', 'b:1']));
    await vi.advanceTimersByTimeAsync(0);
    expect(events).toEqual([{ target: ep('a:1'), generation: 1, first: true, moved: false }]);
    owner.apply(settings(['a:1', 'b:1'])); // the same settings: the same monitor, no extra probe
    await vi.advanceTimersByTimeAsync(0);
    expect(probes).toHaveLength(2);
    owner.apply(settings(['a:1', 'b:1', 'c:1'], { healthCheck: { interval: 500, failureThreshold: 3, timeout: 500 } }));
    await vi.advanceTimersByTimeAsync(2_000);
    expect(owner.snapshot()?.map((h) => h.endpoint)).toEqual(['a:1', 'b:1', 'c:1']);
    owner.stop();
    expect(events).toHaveLength(1);
    expect(owner.generation).toBe(1);
  });

  it('a lost writer is announced; its return (or a promoted standby) is a flip with the next generation', async () => {
    const answers: Record<string, ProbeResult> = { 'a:1': W, 'b:1': R };
    const { owner, events } = ownerOf(answers);
    owner.apply(settings(['a:1', 'b:1']));
    await vi.advanceTimersByTimeAsync(0);
    answers['a:1'] = X;
    await vi.advanceTimersByTimeAsync(1_100); // 1000: one failure; 1100 (fast): the second
    expect(events.at(-1)).toBe('lost');
    expect(owner.target).toBeUndefined();
    answers['a:1'] = W;
    await vi.advanceTimersByTimeAsync(100);
    expect(events.at(-1)).toEqual({ target: ep('a:1'), generation: 2, first: false, moved: false });
    answers['a:1'] = X;
    answers['b:1'] = W;
    await vi.advanceTimersByTimeAsync(1_100);
    owner.stop();
    expect(events.at(-1)).toEqual({ target: ep('b:1'), generation: 3, first: false, moved: true });
  });

  it('suspect() reaches the monitor: a refused connection makes it probe now', async () => {
    const { owner, probes } = ownerOf({ 'a:1': W, 'b:1': R });
    owner.suspect(); // nothing probed yet: nothing happens
    owner.apply(settings(['a:1', 'b:1']));
    await vi.advanceTimersByTimeAsync(500);
    expect(probes).toHaveLength(2);
    owner.suspect();
    await vi.advanceTimersByTimeAsync(0);
    owner.stop();
    expect(probes).toHaveLength(4);
  });

  it('a split brain takes the target away with the reason; it comes back when one endpoint is a standby again', async () => {
    const answers: Record<string, ProbeResult> = { 'a:1': W, 'b:1': R };
    const { owner, events } = ownerOf(answers);
    const why: string[] = [];
    owner.on('lost', (w) => why.push(w));
    owner.apply(settings(['a:1', 'b:1']));
    await vi.advanceTimersByTimeAsync(0);
    answers['b:1'] = W;
    await vi.advanceTimersByTimeAsync(1_000);
    expect(owner.target).toBeUndefined();
    expect(why).toEqual([expect.stringMatching(/split brain: a:1, b:1/)]);
    answers['b:1'] = R;
    await vi.advanceTimersByTimeAsync(100); // fast rounds while there is no writer
    owner.stop();
    expect(events.at(-1)).toEqual({ target: ep('a:1'), generation: 2, first: false, moved: false });
  });

  it('a flip after a lost writer is always a new generation, even when the config names an older one', async () => {
    const answers: Record<string, ProbeResult> = { 'a:1': W, 'b:1': R };
    const { owner, events } = ownerOf(answers);
    owner.apply(settings(['a:1', 'b:1'], { targetGeneration: 0 }));
    await vi.advanceTimersByTimeAsync(0);
    answers['a:1'] = X;
    await vi.advanceTimersByTimeAsync(1_100);
    expect(events.at(-1)).toBe('lost');
    owner.apply(settings(['b:1'], { targetGeneration: 1 })); // the operator's generation lags the proxy's
    expect(events.at(-1)).toEqual({ target: ep('b:1'), generation: 2, first: false, moved: true });
  });

  it('follows IPv6 targets (endpoints in brackets, as the config writes them)', async () => {
    const { owner, events } = ownerOf({ '[::1]:5432': R, '[::2]:5432': W });
    owner.apply({
      ...settings([]),
      targets: [
        { host: '::1', port: 5432 },
        { host: '::2', port: 5432 },
      ],
    });
    await vi.advanceTimersByTimeAsync(0);
    owner.stop();
    expect(events).toEqual([{ target: { host: '::2', port: 5432 }, generation: 1, first: true, moved: false }]);
  });
});
