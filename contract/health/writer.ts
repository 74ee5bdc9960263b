/** Pure target-health bookkeeping and writer choice, shared by the standalone proxy and the operator. */
import type { ProbeResult } from './probe.js';

export type TargetRole = 'WRITER' | 'READER' | 'UNKNOWN';
export type TargetState = 'AVAILABLE' | 'UNAVAILABLE' | 'REGISTERING';

export interface TargetHealth {
  endpoint: string;
  role: TargetRole;
  state: TargetState;
  reason?: string;
  message?: string;
  consecutiveFailures: number;
  maxConnections?: number;
}

export function initialHealth(endpoint: string): TargetHealth {
  return { endpoint, role: 'UNKNOWN', state: 'REGISTERING', consecutiveFailures: 0 };
}

/**
 * One probe result folded in. A target that was healthy turns UNAVAILABLE only after
 * `failureThreshold` consecutive failures (one lost probe is not a failover); a target never yet
 * seen healthy (REGISTERING) turns UNAVAILABLE at its first failure. A writer that is down loses its
 * role: when it answers again it may have come back as a standby.
 */
export function nextHealth(prev: TargetHealth, probe: ProbeResult, failureThreshold: number): TargetHealth {
  if (probe.ok) {
    return {
      endpoint: prev.endpoint,
      role: probe.inRecovery ? 'READER' : 'WRITER',
      state: 'AVAILABLE',
      consecutiveFailures: 0,
      maxConnections: probe.maxConnections,
    };
  }
  const failures = prev.consecutiveFailures + 1;
  const down = failures >= Math.max(1, failureThreshold) || prev.state !== 'AVAILABLE';
  if (!down) return { ...prev, consecutiveFailures: failures };
  return {
    ...prev,
    role: prev.role === 'WRITER' ? 'UNKNOWN' : prev.role,
    state: 'UNAVAILABLE',
    consecutiveFailures: failures,
    reason: probe.reason,
    message: probe.message,
  };
}

const usable = (h: TargetHealth) => h.state === 'AVAILABLE' && h.role === 'WRITER';

/** Two or more available endpoints out of recovery (split brain): their endpoints, else undefined. */
export function splitBrain(healths: readonly TargetHealth[]): string[] | undefined {
  const writers = healths.filter(usable).map((h) => h.endpoint);
  return writers.length > 1 ? writers : undefined;
}

/**
 * Keeps the current writer while it is an available WRITER; else the first available WRITER. With
 * two of them (split brain) none: writes to either could be lost when the other wins, so new
 * connections wait until one is a standby again or down.
 */
export function pickWriter(healths: readonly TargetHealth[], current?: string): string | undefined {
  if (splitBrain(healths)) return undefined;
  if (current && healths.some((h) => h.endpoint === current && usable(h))) return current;
  return healths.find(usable)?.endpoint;
}

/** How often targets are probed while the writer is in doubt (see `roundDelayMs`). */
export const FAST_ROUND_MS = 100;

/**
 * The writer is in doubt: none is known, the current one missed its last probe, or someone saw it
 * fail (a refused or reset database connection: `suspected`).
 */
export function writerInDoubt(healths: readonly TargetHealth[], writer: string | undefined, suspected = false): boolean {
  if (writer === undefined || suspected) return true;
  const h = healths.find((x) => x.endpoint === writer);
  return h === undefined || h.consecutiveFailures > 0 || h.state !== 'AVAILABLE' || h.role !== 'WRITER';
}

/**
 * The delay before the next round of probes: the configured interval while the writer answers, and
 * fast rounds while it is in doubt, so that `failureThreshold` failed probes take a fraction of a
 * second and a promoted standby is seen within one fast round. Never slower than the interval.
 */
export function roundDelayMs(inDoubt: boolean, intervalMs: number): number {
  return inDoubt ? Math.min(FAST_ROUND_MS, intervalMs) : intervalMs;
}
