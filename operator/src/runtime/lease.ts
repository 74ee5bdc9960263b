/**
 * Pure Lease arithmetic for leader election (client-go's leaderelection, reduced).
 *
 * Expiry is judged from the moment *this* process last saw the Lease record change, not from the
 * record's renewTime: clocks of two pods may disagree, but each measures its own elapsed time
 * correctly. A record nobody renews stays unchanged, so after leaseDuration a standby takes it.
 * Times are written as V1MicroTime (the apiserver rejects a MicroTime without six fractional
 * digits) and read back as strings.
 */
import { V1MicroTime, type V1LeaseSpec } from '@kubernetes/client-node';

export interface LeaseRecord {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string | Date;
  renewTime?: string | Date;
  leaseTransitions?: number;
}

/** What this elector saw last: the record and when (its own clock) it last changed. */
export interface Observed {
  key: string;
  atMs: number;
}

export function microTime(ms: number): V1MicroTime {
  return new V1MicroTime(ms);
}

/** A MicroTime as read back (a string, or a Date if a typed client deserialized it); NaN-safe. */
export function parseTime(v: string | Date | undefined): number | undefined {
  if (v === undefined || v === null) return undefined;
  const ms = v instanceof Date ? v.getTime() : Date.parse(v);
  return Number.isFinite(ms) ? ms : undefined;
}

/** Identity of a record version for change detection (holder + renew time + transitions). */
export function recordKey(r: LeaseRecord | undefined): string {
  if (!r) return '';
  return JSON.stringify([r.holderIdentity ?? '', parseTime(r.renewTime) ?? null, r.leaseTransitions ?? 0]);
}

/** Updates what we observed: the time only moves when the record itself changed. */
export function observe(prev: Observed | undefined, r: LeaseRecord | undefined, nowMs: number): Observed {
  const key = recordKey(r);
  return prev && prev.key === key ? prev : { key, atMs: nowMs };
}

export function leaseDurationSeconds(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000));
}

/**
 * True when another identity holds the lease and it has not expired by our own observation.
 * The record's own leaseDurationSeconds wins over ours: the holder decides how long it may go silent.
 */
export function heldByOther(r: LeaseRecord | undefined, identity: string, observed: Observed, nowMs: number, leaseDurationMs: number): boolean {
  const holder = r?.holderIdentity ?? '';
  if (holder === '' || holder === identity) return false;
  const durationMs = r?.leaseDurationSeconds !== undefined && r.leaseDurationSeconds > 0 ? r.leaseDurationSeconds * 1000 : leaseDurationMs;
  return observed.atMs + durationMs > nowMs;
}

/** The spec to write to take or keep the lease. A change of holder bumps transitions and acquireTime. */
export function claimSpec(r: LeaseRecord | undefined, identity: string, nowMs: number, leaseDurationMs: number): V1LeaseSpec {
  const keeping = r?.holderIdentity === identity;
  const acquired = keeping ? (parseTime(r?.acquireTime) ?? nowMs) : nowMs;
  const transitions = (r?.leaseTransitions ?? 0) + (keeping || r === undefined ? 0 : 1);
  return {
    holderIdentity: identity,
    leaseDurationSeconds: leaseDurationSeconds(leaseDurationMs),
    acquireTime: microTime(acquired),
    renewTime: microTime(nowMs),
    leaseTransitions: transitions,
  };
}

/**
 * The spec a stopping leader writes: no holder and a 1 s duration, so a standby does not wait for
 * the full lease (client-go's ReleaseOnCancel does the same).
 */
export function releaseSpec(r: LeaseRecord | undefined, nowMs: number): V1LeaseSpec {
  return {
    holderIdentity: '',
    leaseDurationSeconds: 1,
    acquireTime: microTime(parseTime(r?.acquireTime) ?? nowMs),
    renewTime: microTime(nowMs),
    leaseTransitions: r?.leaseTransitions ?? 0,
  };
}
