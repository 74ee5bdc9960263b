import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { DurationError, parseDuration, zDuration } from './duration.js';

describe('parseDuration', () => {
  it.each([
    ['500ms', 500],
    ['30s', 30_000],
    ['5m', 300_000],
    ['1h', 3_600_000],
    ['1.5s', 1_500],
    [' 2 m ', 120_000],
    ['0', 0],
    ['45', 45_000],
    ['0.25', 250],
    [0, 0],
    [30, 30_000],
    [1.5, 1_500],
    [0.0004, 0],
  ] as const)('%j → %d ms', (input, ms) => {
    expect(parseDuration(input)).toBe(ms);
  });

  it.each([
    ['soon', 'use a number with a unit'],
    ['', 'use a number with a unit'],
    ['-1s', 'use a number with a unit'],
    ['5 minutes', 'use a number with a unit'],
    ['1d', 'use a number with a unit'],
    ['1e3s', 'use a number with a unit'],
    [-1, 'must be zero or more'],
    [Number.NaN, 'must be zero or more'],
    [Number.POSITIVE_INFINITY, 'must be zero or more'],
    ['700h', 'must be at most 24 days'],
    [30 * 86_400, 'must be at most 24 days'],
  ] as const)('%j is refused (%s)', (input, message) => {
    expect(() => parseDuration(input)).toThrow(DurationError);
    expect(() => parseDuration(input)).toThrow(message);
  });
});

describe('zDuration', () => {
  it('outputs milliseconds and reports bad values as issues', () => {
    const s = z.object({ t: zDuration });
    expect(s.parse({ t: '2s' })).toEqual({ t: 2000 });
    const r = s.safeParse({ t: 'later' });
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]).toMatchObject({ path: ['t'], message: expect.stringContaining('invalid duration "later"') });
    expect(s.safeParse({ t: true }).error?.issues[0]?.message).toMatch(/expected a duration/);
  });
});
