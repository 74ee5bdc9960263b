/**
 * A keyed, de-duplicating work queue (client-go's workqueue, reduced to what the operator needs):
 * - a key added while it waits runs once (events coalesce into one reconcile);
 * - a key never runs twice at the same time; one re-added while it runs runs again right after;
 * - keys run in the order they were first added (FIFO);
 * - a handler that throws is retried after a per-key exponential backoff, reset by a success;
 * - a handler may ask to run again later (`requeueAfterMs`), e.g. to re-probe a target.
 */
import { backoffDelay } from '../../../contract/kube/backoff.js';
import { systemClock, type Clock, type TimerHandle } from '../../../contract/kube/clock.js';

// biome-ignore lint/suspicious/noConfusingVoidType: a handler that has nothing to say returns nothing (async () => {})
export type WorkHandler = (key: string) => Promise<{ requeueAfterMs?: number } | void>;

export interface WorkQueueOptions {
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Injected in tests to drive delays by hand. */
  clock?: Clock;
  /** Told about each failure (the queue retries it anyway); `failures` counts consecutive ones. */
  onError?: (key: string, err: unknown, failures: number) => void;
}

export class WorkQueue {
  private readonly ready: string[] = [];
  /** Keys that must run (again): in `ready`, or re-added while processing. */
  private readonly dirty = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly delayed = new Map<string, { at: number; handle: TimerHandle }>();
  private readonly idleWaiters: Array<() => void> = [];
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly clock: Clock;
  private readonly onError: WorkQueueOptions['onError'];
  private handler: WorkHandler | undefined;
  private concurrency = 1;
  private shuttingDown = false;

  constructor(opts: WorkQueueOptions = {}) {
    this.baseDelayMs = opts.baseDelayMs ?? 500;
    this.maxDelayMs = opts.maxDelayMs ?? 5 * 60_000;
    this.clock = opts.clock ?? systemClock;
    this.onError = opts.onError;
  }

  add(key: string): void {
    if (this.shuttingDown || this.dirty.has(key)) return;
    this.dirty.add(key);
    // A key being processed is queued again when its handler finishes, never run concurrently.
    if (!this.processing.has(key)) this.ready.push(key);
    this.pump();
  }

  /** Adds the key after `delayMs`; of several pending delays for one key, the earliest wins. */
  addAfter(key: string, delayMs: number): void {
    if (this.shuttingDown) return;
    if (!(delayMs > 0)) return this.add(key);
    const at = this.clock.now() + delayMs;
    const pending = this.delayed.get(key);
    if (pending && pending.at <= at) return;
    if (pending) this.clock.clearTimeout(pending.handle);
    const handle = this.clock.setTimeout(() => {
      this.delayed.delete(key);
      this.add(key);
    }, delayMs);
    (handle as { unref?: () => void } | undefined)?.unref?.();
    this.delayed.set(key, { at, handle });
  }

  run(handler: WorkHandler, concurrency = 1): void {
    if (this.handler) throw new Error('WorkQueue.run was already called');
    if (!Number.isInteger(concurrency) || concurrency < 1) throw new Error(`concurrency must be a positive integer, got ${concurrency}`);
    this.handler = handler;
    this.concurrency = concurrency;
    this.pump();
  }

  /** Stops taking keys and cancels pending delays; resolves when running handlers have finished. */
  shutdown(): Promise<void> {
    this.shuttingDown = true;
    for (const { handle } of this.delayed.values()) this.clock.clearTimeout(handle);
    this.delayed.clear();
    if (this.processing.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Keys ready to run now (not counting running or delayed ones). */
  length(): number {
    return this.ready.length;
  }

  private pump(): void {
    const handler = this.handler;
    if (!handler) return;
    while (!this.shuttingDown && this.processing.size < this.concurrency && this.ready.length > 0) {
      const key = this.ready.shift()!;
      this.dirty.delete(key);
      this.processing.add(key);
      void this.process(handler, key);
    }
  }

  private async process(handler: WorkHandler, key: string): Promise<void> {
    try {
      const result = await handler(key);
      this.failures.delete(key);
      if (result && result.requeueAfterMs !== undefined) this.addAfter(key, result.requeueAfterMs);
    } catch (err) {
      const n = (this.failures.get(key) ?? 0) + 1;
      this.failures.set(key, n);
      this.onError?.(key, err, n);
      this.addAfter(key, backoffDelay(n, this.baseDelayMs, this.maxDelayMs));
    } finally {
      this.processing.delete(key);
      if (this.dirty.has(key) && !this.shuttingDown) this.ready.push(key);
      if (this.processing.size === 0 && this.shuttingDown) this.idleWaiters.splice(0).forEach((r) => r());
      this.pump();
    }
  }
}
