import { describe, expect, it } from 'vitest';
import type { ProbeResult } from './probe.js';
import { FAST_ROUND_MS, initialHealth, nextHealth, pickWriter, roundDelayMs, splitBrain, writerInDoubt, type TargetHealth } from './writer.js';

const primary: ProbeResult = { ok: true, inRecovery: false, maxConnections: 100, serverVersion: '15.8' };
const standby: ProbeResult = { ok: true, inRecovery: true, maxConnections: 120, serverVersion: '15.8' };
const refused: ProbeResult = { ok: false, reason: 'UNREACHABLE', message: 'connect ECONNREFUSED' };
const badPassword: ProbeResult = { ok: false, reason: 'AUTH_FAILURE', message: 'password authentication failed' };

const h = (endpoint: string, role: TargetHealth['role'], state: TargetHealth['state'], consecutiveFailures = 0): TargetHealth => ({
  endpoint,
  role,
  state,
  consecutiveFailures,
});

/** Folds a sequence of probe results into a fresh target's health. */
const fold = (probes: ProbeResult[], threshold: number) => probes.reduce((acc, p) => nextHealth(acc, p, threshold), initialHealth('db:5432'));

describe('nextHealth', () => {
  it('starts REGISTERING with an UNKNOWN role', () => {
    expect(initialHealth('db:5432')).toEqual({ endpoint: 'db:5432', role: 'UNKNOWN', state: 'REGISTERING', consecutiveFailures: 0 });
  });

  it.each<{ name: string; probes: ProbeResult[]; threshold: number; want: Partial<TargetHealth> }>([
    {
      name: 'a primary is an available WRITER',
      probes: [primary],
      threshold: 2,
      want: { role: 'WRITER', state: 'AVAILABLE', consecutiveFailures: 0, maxConnections: 100 },
    },
    { name: 'a standby is an available READER', probes: [standby], threshold: 2, want: { role: 'READER', state: 'AVAILABLE', maxConnections: 120 } },
    {
      name: 'never seen healthy: down at the first failure',
      probes: [refused],
      threshold: 3,
      want: { role: 'UNKNOWN', state: 'UNAVAILABLE', reason: 'UNREACHABLE', consecutiveFailures: 1 },
    },
    {
      name: 'one failure under the threshold keeps it available, without a reason',
      probes: [primary, refused],
      threshold: 2,
      want: { role: 'WRITER', state: 'AVAILABLE', consecutiveFailures: 1, reason: undefined },
    },
    {
      name: 'failures reaching the threshold: down, and the writer loses its role',
      probes: [primary, refused, refused],
      threshold: 2,
      want: { role: 'UNKNOWN', state: 'UNAVAILABLE', reason: 'UNREACHABLE', consecutiveFailures: 2 },
    },
    { name: 'a down reader keeps its role', probes: [standby, refused], threshold: 1, want: { role: 'READER', state: 'UNAVAILABLE', consecutiveFailures: 1 } },
    {
      name: 'threshold 1: the first failure is enough',
      probes: [primary, badPassword],
      threshold: 1,
      want: { state: 'UNAVAILABLE', reason: 'AUTH_FAILURE', message: 'password authentication failed' },
    },
    { name: 'a threshold below 1 acts as 1', probes: [primary, refused], threshold: 0, want: { state: 'UNAVAILABLE' } },
    {
      name: 'a success clears the failure count and reason',
      probes: [primary, refused, refused, refused, primary],
      threshold: 2,
      want: { role: 'WRITER', state: 'AVAILABLE', consecutiveFailures: 0, reason: undefined, message: undefined },
    },
    { name: 'a promoted standby becomes the WRITER', probes: [standby, standby, primary], threshold: 2, want: { role: 'WRITER', state: 'AVAILABLE' } },
    {
      name: 'an old primary back as a standby is a READER',
      probes: [primary, refused, refused, standby],
      threshold: 2,
      want: { role: 'READER', state: 'AVAILABLE' },
    },
    {
      name: 'failures keep counting while down',
      probes: [primary, refused, refused, refused, refused],
      threshold: 2,
      want: { state: 'UNAVAILABLE', consecutiveFailures: 4 },
    },
  ])('$name', ({ probes, threshold, want }) => {
    const got = fold(probes, threshold);
    for (const [k, v] of Object.entries(want)) expect(got[k as keyof TargetHealth], k).toEqual(v);
    expect(got.endpoint).toBe('db:5432');
  });

  it('does not mutate the previous health', () => {
    const prev = h('a:1', 'WRITER', 'AVAILABLE');
    const copy = { ...prev };
    nextHealth(prev, refused, 1);
    expect(prev).toEqual(copy);
  });
});

describe('pickWriter', () => {
  const A = 'a:5432';
  const B = 'b:5432';
  const C = 'c:5432';
  it.each<{ name: string; healths: TargetHealth[]; current?: string; want: string | undefined }>([
    { name: 'no targets: no writer', healths: [], want: undefined },
    { name: 'the only available WRITER', healths: [h(A, 'READER', 'AVAILABLE'), h(B, 'WRITER', 'AVAILABLE')], want: B },
    { name: 'two available WRITERs (split brain): none', healths: [h(A, 'WRITER', 'AVAILABLE'), h(B, 'WRITER', 'AVAILABLE')], want: undefined },
    { name: 'split brain: not even the current writer', healths: [h(A, 'WRITER', 'AVAILABLE'), h(B, 'WRITER', 'AVAILABLE')], current: B, want: undefined },
    {
      name: 'keeps the current writer while it is an available WRITER',
      healths: [h(A, 'READER', 'AVAILABLE'), h(B, 'WRITER', 'AVAILABLE')],
      current: B,
      want: B,
    },
    { name: 'moves off a current writer that went down', healths: [h(A, 'UNKNOWN', 'UNAVAILABLE', 2), h(B, 'WRITER', 'AVAILABLE')], current: A, want: B },
    { name: 'moves off a current writer that became a READER', healths: [h(A, 'READER', 'AVAILABLE'), h(B, 'WRITER', 'AVAILABLE')], current: A, want: B },
    {
      name: 'never a READER, even if it is the only one available',
      healths: [h(A, 'UNKNOWN', 'UNAVAILABLE'), h(B, 'READER', 'AVAILABLE')],
      current: A,
      want: undefined,
    },
    { name: 'never a REGISTERING target', healths: [h(A, 'UNKNOWN', 'REGISTERING'), h(B, 'READER', 'AVAILABLE')], want: undefined },
    { name: 'a current writer no longer in the list is dropped', healths: [h(A, 'READER', 'AVAILABLE'), h(C, 'WRITER', 'AVAILABLE')], current: B, want: C },
    {
      name: 'a WRITER still under its failure threshold stays the writer',
      healths: [h(A, 'WRITER', 'AVAILABLE', 1), h(B, 'READER', 'AVAILABLE')],
      current: A,
      want: A,
    },
  ])('$name', ({ healths, current, want }) => {
    expect(pickWriter(healths, current)).toBe(want);
  });
});

describe('writerInDoubt and roundDelayMs', () => {
  it.each<{ name: string; healths: TargetHealth[]; writer: string | undefined; suspected?: boolean; doubt: boolean }>([
    { name: 'no writer known', healths: [h('a', 'READER', 'AVAILABLE')], writer: undefined, doubt: true },
    { name: 'the writer answered its last probe', healths: [h('a', 'WRITER', 'AVAILABLE'), h('b', 'READER', 'AVAILABLE')], writer: 'a', doubt: false },
    { name: 'the writer missed one probe', healths: [h('a', 'WRITER', 'AVAILABLE', 1)], writer: 'a', doubt: true },
    { name: 'the writer is down', healths: [h('a', 'UNKNOWN', 'UNAVAILABLE', 2)], writer: 'a', doubt: true },
    { name: 'the writer is a standby now', healths: [h('a', 'READER', 'AVAILABLE')], writer: 'a', doubt: true },
    { name: 'a connection to the writer was refused', healths: [h('a', 'WRITER', 'AVAILABLE')], writer: 'a', suspected: true, doubt: true },
    {
      name: 'a reader missed a probe (the writer is fine)',
      healths: [h('a', 'WRITER', 'AVAILABLE'), h('b', 'READER', 'AVAILABLE', 1)],
      writer: 'a',
      doubt: false,
    },
  ])('$name', ({ healths, writer, suspected, doubt }) => {
    expect(writerInDoubt(healths, writer, suspected)).toBe(doubt);
  });

  it('probes fast while in doubt, never slower than the interval', () => {
    expect(roundDelayMs(false, 1_000)).toBe(1_000);
    expect(roundDelayMs(true, 1_000)).toBe(FAST_ROUND_MS);
    expect(roundDelayMs(true, 50)).toBe(50);
  });
});

describe('split brain', () => {
  it('two available writers: none is picked, whichever was current', () => {
    const both = [h('a', 'WRITER', 'AVAILABLE'), h('b', 'WRITER', 'AVAILABLE'), h('c', 'READER', 'AVAILABLE')];
    expect(splitBrain(both)).toEqual(['a', 'b']);
    expect(pickWriter(both, 'a')).toBeUndefined();
    expect(pickWriter(both)).toBeUndefined();
  });

  it('one writer (the other down or a standby again): no split brain', () => {
    expect(splitBrain([h('a', 'WRITER', 'AVAILABLE'), h('b', 'UNKNOWN', 'UNAVAILABLE', 2)])).toBeUndefined();
    expect(pickWriter([h('a', 'WRITER', 'AVAILABLE'), h('b', 'READER', 'AVAILABLE')], 'b')).toBe('a');
  });
});
