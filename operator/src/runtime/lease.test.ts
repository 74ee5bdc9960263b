import { V1MicroTime } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { claimSpec, heldByOther, leaseDurationSeconds, microTime, observe, parseTime, recordKey, releaseSpec, type LeaseRecord } from './lease.js';

const T0 = Date.parse('2026-01-02T03:04:05.678Z');

describe('lease times', () => {
  it('writes MicroTime with six fractional digits and reads strings back', () => {
    const t = microTime(T0);
    expect(t).toBeInstanceOf(V1MicroTime);
    expect(JSON.stringify({ t })).toBe('{"t":"2026-01-02T03:04:05.678000Z"}');
    expect(parseTime('2026-01-02T03:04:05.678000Z')).toBe(T0);
    expect(parseTime(new Date(T0))).toBe(T0);
    expect(parseTime('not a time')).toBeUndefined();
    expect(parseTime(undefined)).toBeUndefined();
  });

  it('rounds the duration up to whole seconds, at least one', () => {
    expect([15_000, 15_001, 1, 0].map(leaseDurationSeconds)).toEqual([15, 16, 1, 1]);
  });
});

describe('expiry by local observation', () => {
  const held: LeaseRecord = { holderIdentity: 'a', leaseDurationSeconds: 15, renewTime: '2000-01-01T00:00:00.000000Z', leaseTransitions: 3 };

  it('a record held by another is respected for leaseDuration after we first saw it, whatever its renewTime says', () => {
    const seen = observe(undefined, held, T0);
    expect(heldByOther(held, 'b', seen, T0, 15_000)).toBe(true);
    expect(heldByOther(held, 'b', seen, T0 + 14_999, 15_000)).toBe(true);
    expect(heldByOther(held, 'b', seen, T0 + 15_000, 15_000)).toBe(false);
  });

  it('a renewal restarts the clock; re-reading the same record does not', () => {
    let seen = observe(undefined, held, T0);
    seen = observe(seen, { ...held }, T0 + 10_000);
    expect(seen.atMs).toBe(T0);
    const renewed = { ...held, renewTime: '2000-01-01T00:00:02.000000Z' };
    seen = observe(seen, renewed, T0 + 12_000);
    expect(seen.atMs).toBe(T0 + 12_000);
    expect(heldByOther(renewed, 'b', seen, T0 + 20_000, 15_000)).toBe(true);
  });

  it("uses the holder's leaseDurationSeconds over ours", () => {
    const short = { ...held, leaseDurationSeconds: 1 };
    const seen = observe(undefined, short, T0);
    expect(heldByOther(short, 'b', seen, T0 + 1_000, 15_000)).toBe(false);
  });

  it('an empty holder (released) or our own identity is never held by another', () => {
    const seen = observe(undefined, held, T0);
    expect(heldByOther({ ...held, holderIdentity: '' }, 'b', seen, T0, 15_000)).toBe(false);
    expect(heldByOther(held, 'a', seen, T0, 15_000)).toBe(false);
    expect(heldByOther(undefined, 'a', observe(undefined, undefined, T0), T0, 15_000)).toBe(false);
  });

  it('record keys differ when holder, renewTime or transitions change', () => {
    const keys = new Set([
      recordKey(held),
      recordKey({ ...held, holderIdentity: 'x' }),
      recordKey({ ...held, renewTime: T0.toString() }),
      recordKey({ ...held, leaseTransitions: 4 }),
    ]);
    expect(keys.size).toBe(4);
    expect(recordKey(undefined)).toBe('');
  });
});

describe('claim and release', () => {
  it('a new lease starts at zero transitions', () => {
    const s = claimSpec(undefined, 'a', T0, 15_000);
    expect(s).toMatchObject({ holderIdentity: 'a', leaseDurationSeconds: 15, leaseTransitions: 0 });
    expect(parseTime(s.acquireTime)).toBe(T0);
    expect(parseTime(s.renewTime)).toBe(T0);
  });

  it('renewing keeps acquireTime and transitions', () => {
    const mine: LeaseRecord = {
      holderIdentity: 'a',
      acquireTime: '2026-01-02T03:00:00.000000Z',
      renewTime: '2026-01-02T03:04:00.000000Z',
      leaseTransitions: 2,
    };
    const s = claimSpec(mine, 'a', T0, 15_000);
    expect(s.leaseTransitions).toBe(2);
    expect(parseTime(s.acquireTime)).toBe(Date.parse('2026-01-02T03:00:00Z'));
    expect(parseTime(s.renewTime)).toBe(T0);
  });

  it('taking over bumps transitions and acquireTime, also from a released lease', () => {
    const theirs: LeaseRecord = { holderIdentity: 'a', acquireTime: '2026-01-02T03:00:00.000000Z', leaseTransitions: 2 };
    const s = claimSpec(theirs, 'b', T0, 15_000);
    expect(s).toMatchObject({ holderIdentity: 'b', leaseTransitions: 3 });
    expect(parseTime(s.acquireTime)).toBe(T0);
    const released = releaseSpec(theirs, T0);
    expect(released).toMatchObject({ holderIdentity: '', leaseDurationSeconds: 1, leaseTransitions: 2 });
    expect(claimSpec({ ...released, acquireTime: '2026-01-02T03:00:00.000000Z', renewTime: undefined }, 'b', T0, 15_000).leaseTransitions).toBe(3);
  });
});
