/**
 * The proxy's shutdown as a state machine, pure: the phase it is in and what to do next, from the
 * time since the stop signal and how many clients are left. server.ts runs the actions.
 *
 *   serving ──stop──► unready ──delay──► draining ──no clients──► stopped
 *                    (readyz 503,        (listeners closed,        (pools closed)
 *                     still accepting)    idle clients told 57P01,     ▲
 *                                         busy ones finish their unit) │
 *                                               └──drainTimeout──► closing (the rest closed)
 *
 * The delay is for a proxy that no preStop hook protects: load balancers see /readyz fail and stop
 * sending before the listeners close. Under Kubernetes the preStop sleep does that wait, so the
 * operator renders a delay of 0.
 */

export type DrainPhase = 'serving' | 'unready' | 'draining' | 'closing' | 'stopped';

export type DrainAction =
  /** Close the PostgreSQL listeners: new connections are refused. */
  | 'closeListeners'
  /** Tell every client to leave once idle: at once if idle now, else after its transaction. */
  | 'tellIdle'
  /** End the clients still connected (the drain timeout passed). */
  | 'terminateRest'
  /** Close the pooled database connections (Terminate) and the admin server. */
  | 'closePools';

export interface DrainPlan {
  /** From the stop signal until the listeners close (readiness already fails). */
  delayMs: number;
  /** From the listeners closing until the clients still connected are closed. */
  drainTimeoutMs: number;
}

/** After the drain timeout, how long terminated clients get to go before the pools close regardless. */
export const CLOSE_GRACE_MS = 2_000;

export interface DrainView {
  phase: DrainPhase;
  /** Since the stop signal. */
  elapsedMs: number;
  /** Client connections still open. */
  clients: number;
}

export interface DrainStep {
  phase: DrainPhase;
  actions: DrainAction[];
}

/** Where the drain goes from `v`; `actions` are to run once, on entering the new phase. */
export function drainStep(v: DrainView, plan: DrainPlan): DrainStep {
  switch (v.phase) {
    case 'serving':
      // The stop signal: readiness fails from now on; the delay may already be over (0).
      return chain({ phase: 'unready', actions: [] }, v, plan);
    case 'unready':
      if (v.elapsedMs < plan.delayMs) return { phase: 'unready', actions: [] };
      return chain({ phase: 'draining', actions: ['closeListeners', 'tellIdle'] }, v, plan);
    case 'draining':
      if (v.clients === 0) return { phase: 'stopped', actions: ['closePools'] };
      if (v.elapsedMs >= plan.delayMs + plan.drainTimeoutMs) return { phase: 'closing', actions: ['terminateRest'] };
      return { phase: 'draining', actions: [] };
    case 'closing': {
      // Terminated sessions leave as their sockets close; the pools go once they are gone, or soon anyway.
      const late = v.elapsedMs >= plan.delayMs + plan.drainTimeoutMs + CLOSE_GRACE_MS;
      return v.clients === 0 || late ? { phase: 'stopped', actions: ['closePools'] } : { phase: 'closing', actions: [] };
    }
    case 'stopped':
      return { phase: 'stopped', actions: [] };
  }
}

/** Takes the transitions that are due at once (a delay of 0, no clients), collecting their actions. */
function chain(step: DrainStep, v: DrainView, plan: DrainPlan): DrainStep {
  if (step.phase === 'stopped' || step.phase === v.phase) return step;
  const next = drainStep({ ...v, phase: step.phase }, plan);
  return next.phase === step.phase ? step : { phase: next.phase, actions: [...step.actions, ...next.actions] };
}

/** Readiness, as /readyz reports it: only a serving proxy takes new clients from a load balancer. */
export function drainReadiness(phase: DrainPhase): { ok: true } | { ok: false; reason: string } {
  return phase === 'serving' ? { ok: true } : { ok: false, reason: `shutting down (${phase})` };
}

/** New client connections are refused (57P03) once the listeners close; in `unready` they are still served. */
export function refusesClients(phase: DrainPhase): boolean {
  return phase === 'draining' || phase === 'closing' || phase === 'stopped';
}
