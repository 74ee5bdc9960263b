import { describe, expect, it } from 'vitest';
import { borrowFailureReason, SETUP_FAILURES } from './setup-failure.js';

describe('borrowFailureReason', () => {
  it.each([
    [{ sqlstate: '53300', timedOut: false }, 'limits'],
    [{ sqlstate: '53300', timedOut: true }, 'limits'],
    [{ sqlstate: '08006', timedOut: true }, 'timeout'],
    [{ sqlstate: '57P01', timedOut: false }, 'shutdown'],
    [{ sqlstate: '57P03', timedOut: false }, 'shutdown'],
    [{ sqlstate: '28P01', timedOut: false }, 'backend'],
    [{ sqlstate: '3D000', timedOut: false }, 'backend'],
    [{ sqlstate: '08001', timedOut: false }, 'backend'],
  ] as const)('%o → %s', (err, reason) => {
    expect(borrowFailureReason(err)).toBe(reason);
    expect(SETUP_FAILURES).toContain(reason);
  });
});
