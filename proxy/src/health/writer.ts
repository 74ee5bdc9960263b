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

/** Keeps the current writer while it is an available WRITER; else the first available WRITER. */
export function pickWriter(healths: TargetHealth[], current?: string): string | undefined {
  const usable = (h: TargetHealth) => h.state === 'AVAILABLE' && h.role === 'WRITER';
  if (current && healths.some((h) => h.endpoint === current && usable(h))) return current;
  return healths.find(usable)?.endpoint;
}
