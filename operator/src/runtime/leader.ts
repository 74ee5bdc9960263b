/**
 * Leader election on a coordination.k8s.io/v1 Lease (client-go's leaderelection, reduced).
 * One identity holds the Lease and renews it every retryPeriod; a standby takes it once it has seen
 * no renewal for leaseDuration (by its own clock, see lease.ts). A leader that cannot renew within
 * renewDeadline (< leaseDuration) stops leading before anyone else may start. Optimistic concurrency
 * (the Lease's resourceVersion on replace) makes two candidates racing for it safe: one gets 409.
 * stop() releases the Lease (empty holder) so a standby takes over at its next retry.
 */
import { CoordinationV1Api, type KubeConfig, type V1Lease } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { sleep } from '../../../contract/kube/clock.js';
import { classifyApiError } from '../../../contract/kube/errors.js';
import { claimSpec, heldByOther, observe, releaseSpec, type Observed } from './lease.js';

export interface LeaderElectorOptions {
  kc: KubeConfig;
  namespace: string;
  name: string;
  identity: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  log: Logger;
}

export interface LeaderCallbacks {
  onStartedLeading: (signal: AbortSignal) => void;
  onStoppedLeading: () => void;
}

type Step = 'ours' | 'held';

export class LeaderElector {
  private readonly api: CoordinationV1Api;
  private readonly leaseDurationMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;
  private readonly log: Logger;
  private readonly stopCtl = new AbortController();
  private observed: Observed | undefined;
  private lease: V1Lease | undefined;
  private leading = false;
  private done: Promise<void> | undefined;

  constructor(private readonly opts: LeaderElectorOptions) {
    this.leaseDurationMs = opts.leaseDurationMs ?? 15_000;
    this.renewDeadlineMs = opts.renewDeadlineMs ?? 10_000;
    this.retryPeriodMs = opts.retryPeriodMs ?? 2_000;
    if (!(this.renewDeadlineMs < this.leaseDurationMs)) throw new Error('renewDeadlineMs must be shorter than leaseDurationMs');
    if (!(this.retryPeriodMs < this.renewDeadlineMs)) throw new Error('retryPeriodMs must be shorter than renewDeadlineMs');
    this.api = opts.kc.makeApiClient(CoordinationV1Api);
    this.log = opts.log.child({ lease: `${opts.namespace}/${opts.name}`, identity: opts.identity });
  }

  isLeader(): boolean {
    return this.leading;
  }

  /** Campaigns, leads, and campaigns again after losing the lease, until stop(). */
  run(cb: LeaderCallbacks): Promise<void> {
    if (this.done) throw new Error('LeaderElector.run was already called');
    this.done = this.loop(cb);
    return this.done;
  }

  async stop(): Promise<void> {
    this.stopCtl.abort();
    await this.done;
  }

  private get stopped(): boolean {
    return this.stopCtl.signal.aborted;
  }

  private async loop(cb: LeaderCallbacks): Promise<void> {
    while (!this.stopped) {
      if ((await this.attempt()) !== 'ours') {
        // Jitter so standbys do not hit the apiserver together.
        await sleep(this.retryPeriodMs * (1 + Math.random() * 0.2), this.stopCtl.signal);
        continue;
      }
      if (this.stopped)
        await this.release(); // won it just as stop() was called
      else await this.lead(cb);
    }
  }

  private async lead(cb: LeaderCallbacks): Promise<void> {
    const work = new AbortController();
    this.leading = true;
    this.log.info('started leading');
    guard(this.log, 'onStartedLeading', () => cb.onStartedLeading(work.signal));
    let lastRenew = Date.now();
    while (!this.stopped) {
      await sleep(this.retryPeriodMs, this.stopCtl.signal);
      if (this.stopped) break;
      const step = await this.attempt();
      if (step === 'ours') lastRenew = Date.now();
      else if (step === 'held') {
        this.log.warn('the lease was taken by another identity');
        break;
      } else if (Date.now() - lastRenew > this.renewDeadlineMs) {
        this.log.warn({ renewDeadlineMs: this.renewDeadlineMs }, 'could not renew the lease in time');
        break;
      }
    }
    this.leading = false;
    work.abort();
    guard(this.log, 'onStoppedLeading', () => cb.onStoppedLeading());
    if (this.stopped) await this.release();
  }

  /** One acquire-or-renew round; undefined when the API call failed (retried by the caller). */
  private async attempt(): Promise<Step | undefined> {
    try {
      return await withTimeout(this.tryAcquireOrRenew(), this.renewDeadlineMs);
    } catch (err) {
      const e = classifyApiError(err);
      // A Conflict only means another candidate wrote first; the next read shows who.
      if (e.kind === 'Conflict') return 'held';
      this.log.warn({ err: e.message, kind: e.kind }, 'lease request failed');
      return undefined;
    }
  }

  private async tryAcquireOrRenew(): Promise<Step> {
    const { namespace, name, identity } = this.opts;
    const now = Date.now();
    let current: V1Lease;
    try {
      current = await this.api.readNamespacedLease({ name, namespace });
    } catch (err) {
      if (classifyApiError(err).kind !== 'NotFound') throw err;
      const spec = claimSpec(undefined, identity, now, this.leaseDurationMs);
      this.lease = await this.api.createNamespacedLease({
        namespace,
        body: { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name, namespace }, spec },
      });
      this.observed = observe(undefined, this.lease.spec, now);
      return 'ours';
    }
    this.observed = observe(this.observed, current.spec, now);
    if (heldByOther(current.spec, identity, this.observed, now, this.leaseDurationMs)) {
      this.lease = current;
      return 'held';
    }
    // resourceVersion in metadata makes this a compare-and-swap: a racing candidate gets 409.
    const body: V1Lease = { ...current, spec: claimSpec(current.spec, identity, now, this.leaseDurationMs) };
    this.lease = await this.api.replaceNamespacedLease({ name, namespace, body });
    this.observed = observe(this.observed, this.lease.spec, now);
    return 'ours';
  }

  private async release(): Promise<void> {
    const { namespace, name, identity } = this.opts;
    for (let i = 0; i < 2; i++) {
      try {
        const current = i === 0 && this.lease ? this.lease : await this.api.readNamespacedLease({ name, namespace });
        if (current.spec?.holderIdentity !== identity) return;
        const body: V1Lease = { ...current, spec: releaseSpec(current.spec, Date.now()) };
        await withTimeout(this.api.replaceNamespacedLease({ name, namespace, body }), this.renewDeadlineMs);
        this.log.info('released the lease');
        return;
      } catch (err) {
        const e = classifyApiError(err);
        if (e.kind !== 'Conflict') {
          this.log.warn({ err: e.message }, 'could not release the lease; a standby takes over when it expires');
          return;
        }
      }
    }
  }
}

/** Callbacks are the user's code: a throw (or a rejected promise) is logged, never kills the elector. */
function guard(log: Logger, what: string, fn: () => unknown): void {
  try {
    const r = fn();
    if (r instanceof Promise) r.catch((err: unknown) => log.error({ err: String(err) }, `${what} failed`));
  } catch (err) {
    log.error({ err: String(err) }, `${what} failed`);
  }
}

/** client-node 1.4 requests have no timeout: a hung renew must not hold leadership past its deadline. */
function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`lease request timed out after ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
