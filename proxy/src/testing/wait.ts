/**
 * The tests' one way to wait for something: poll `check` until it yields a value other than
 * `false` / `undefined` (that value is returned), or give up after `timeoutMs` with an error naming
 * `what` and the last observation. No timing is asserted: the bound only stops a hung test.
 *
 * By default an exception from `check` fails the wait at once; with `retryErrors` it counts as
 * "not yet" (and its message is reported as the last observation on timeout).
 */
export interface WaitOptions {
  /** Give up after this long (default 20 s). */
  timeoutMs?: number;
  /** Pause between polls (default 50 ms). */
  intervalMs?: number;
  /** Treat an exception from `check` as "not yet" instead of failing (default false). */
  retryErrors?: boolean;
}

export async function waitFor<T>(
  check: () => T | undefined | false | Promise<T | undefined | false>,
  what: string | (() => string),
  { timeoutMs = 20_000, intervalMs = 50, retryErrors = false }: WaitOptions = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
      last = v;
    } catch (err) {
      if (!retryErrors) throw err;
      last = err instanceof Error ? err.message : err;
    }
    if (Date.now() > deadline) {
      const name = typeof what === 'function' ? what() : what;
      const seen = typeof last === 'string' ? last : JSON.stringify(last);
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${name}; last: ${seen}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
