import { describe, expect, it } from 'vitest';
import { waitFor } from './wait.js';

describe('waitFor', () => {
  it('polls until the check yields something other than false/undefined, and returns it', async () => {
    let n = 0;
    await expect(waitFor(() => (++n >= 3 ? `done after ${n}` : false), 'three polls', { intervalMs: 1 })).resolves.toBe('done after 3');
    await expect(waitFor(async () => true, 'at once')).resolves.toBe(true);
  });

  it('fails at once on an exception from the check, unless told to retry it', async () => {
    let n = 0;
    const flaky = () => {
      if (++n < 3) throw new Error(`not yet ${n}`);
      return n;
    };
    await expect(waitFor(flaky, 'flaky', { intervalMs: 1 })).rejects.toThrow('not yet 1');
    n = 0;
    await expect(waitFor(flaky, 'flaky', { intervalMs: 1, retryErrors: true })).resolves.toBe(3);
  });

  it('gives up after the bound, naming what it waited for and the last observation', async () => {
    await expect(waitFor(() => false, 'never', { timeoutMs: 30, intervalMs: 5 })).rejects.toThrow('timed out after 30 ms waiting for never; last: false');
    const failing = () => {
      throw new Error('still down');
    };
    await expect(waitFor(failing, () => 'the lazy name', { timeoutMs: 30, intervalMs: 5, retryErrors: true })).rejects.toThrow(
      'waiting for the lazy name; last: still down',
    );
  });
});
