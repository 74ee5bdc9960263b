/**
 * A stopping container's preStop hook and the grace left for its stop signal, pure, as the kubelet
 * computes them: the hook (sleep, exec or httpGet) runs first, inside the pod's grace period; the stop
 * signal then gets what is left of it, at least 2 s (the kubelet's minimum after a slow hook).
 */
import type { V1Container } from '@kubernetes/client-node';
import { resolveProbe, type ProbeCheck } from './probe-target.js';

export type PreStopHook = { kind: 'sleep'; ms: number } | { kind: 'check'; check: ProbeCheck };

/** The kubelet's minimum grace for the stop signal once a preStop hook used up the period. */
export const MIN_GRACE_AFTER_HOOK_MS = 2_000;

export function resolvePreStop(container: V1Container | undefined, podIP: string): PreStopHook | undefined {
  const hook = container?.lifecycle?.preStop;
  if (!hook || !container) return undefined;
  if (hook.sleep) return { kind: 'sleep', ms: Number(hook.sleep.seconds) * 1000 };
  // exec, httpGet and tcpSocket resolve as a probe's do (named ports, the pod's IP).
  return { kind: 'check', check: resolveProbe({ ...hook, failureThreshold: 1 } as never, container, podIP)!.check };
}

/** What is left of the grace period for the stop signal after the hook ran `hookMs`. */
export function graceAfterHook(graceMs: number, hookMs: number): number {
  if (graceMs <= 0) return 0;
  return Math.max(graceMs - hookMs, MIN_GRACE_AFTER_HOOK_MS);
}
