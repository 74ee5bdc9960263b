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

/** One probe result folded in: a target turns UNAVAILABLE only after `failureThreshold` failures. */
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
  const down = failures >= failureThreshold || prev.state === 'REGISTERING';
  const next: TargetHealth = {
    ...prev,
    consecutiveFailures: failures,
    state: down ? 'UNAVAILABLE' : prev.state,
    reason: probe.reason,
    message: probe.message,
  };
  if (down) next.role = prev.role === 'WRITER' ? 'UNKNOWN' : prev.role;
  return next;
}

/** Keeps the current writer while it is an available WRITER; else the first available WRITER. */
export function pickWriter(healths: TargetHealth[], current?: string): string | undefined {
  const usable = (h: TargetHealth) => h.state === 'AVAILABLE' && h.role === 'WRITER';
  if (current && healths.some((h) => h.endpoint === current && usable(h))) return current;
  return healths.find(usable)?.endpoint;
}
