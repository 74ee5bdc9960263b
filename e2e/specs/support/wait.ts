import { waitFor as poll } from '../../../proxy/src/testing/wait.js';

/**
 * The specs' only way to wait: the shared poller (`proxy/src/testing/wait.ts`) with the specs'
 * argument order and defaults — 120 s bound, a poll every 500 ms, errors from `probe` retried and
 * reported as the last observation.
 */
export function waitFor<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 120_000, everyMs = 500): Promise<T> {
  return poll(probe, what, { timeoutMs, intervalMs: everyMs, retryErrors: true });
}
