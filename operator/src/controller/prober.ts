/**
 * Target health for every DBProxy: one probe loop per DBProxy, probing each candidate endpoint every
 * healthCheck.interval with the first auth Secret's credentials — in fast rounds while the writer is
 * in doubt (none, two, or one that missed a probe), and at once when the candidates change. Health is
 * folded with the proxy's own rules (contract/health/writer.ts: failureThreshold consecutive
 * failures mark UNAVAILABLE); any change of role, state, reason or max_connections enqueues the
 * DBProxy. The timers live here only.
 */
import type { Logger } from 'pino';
import { parseHostPort } from '../../../contract/config/host-port.js';
import { probeEndpoint, type ProbeOptions, type ProbeResult } from '../../../contract/health/probe.js';
import { initialHealth, nextHealth, pickWriter, roundDelayMs, writerInDoubt, type TargetHealth } from '../../../contract/health/writer.js';
import type { ProbePlan } from './decide.js';
import { canonicalJson } from './hash.js';

export interface ProberOptions {
  onChange: (key: string) => void;
  /** Called after every probe (metrics). */
  onHealth?: (key: string, health: TargetHealth) => void;
  probe?: (o: ProbeOptions) => Promise<ProbeResult>;
  log: Logger;
}

interface Loop {
  plan: ProbePlan;
  planKey: string;
  healths: Map<string, TargetHealth>;
  timer: NodeJS.Timeout | undefined;
  stopped: boolean;
  probing: boolean;
  /** The candidates changed while a round ran: probe again as soon as it ends. */
  again: boolean;
}

/** A probe must finish before the next round is due, but never gets less than a second. */
export const probeTimeoutMs = (intervalMs: number) => Math.min(5_000, Math.max(1_000, intervalMs));

/** Whether the change matters to the reconciler (consecutiveFailures below the threshold does not). */
export function healthChanged(a: TargetHealth | undefined, b: TargetHealth): boolean {
  return !a || a.role !== b.role || a.state !== b.state || a.reason !== b.reason || a.maxConnections !== b.maxConnections;
}

export class TargetProber {
  private loops = new Map<string, Loop>();

  constructor(private readonly o: ProberOptions) {}

  /** Starts, updates or (plan undefined) stops probing for one DBProxy key. */
  sync(key: string, plan: ProbePlan | undefined): void {
    const loop = this.loops.get(key);
    if (!plan) return this.remove(key);
    const planKey = canonicalJson(plan);
    if (loop && loop.planKey === planKey) return;
    if (loop) {
      loop.plan = plan;
      loop.planKey = planKey;
      for (const e of [...loop.healths.keys()]) if (!plan.endpoints.includes(e)) loop.healths.delete(e);
      // New candidates (an EndpointSlice moved, a target added): probe them now, not at the next interval.
      if (loop.probing) loop.again = true;
      else {
        clearTimeout(loop.timer);
        void this.round(key, loop);
      }
      return;
    }
    const fresh: Loop = { plan, planKey, healths: new Map(), timer: undefined, stopped: false, probing: false, again: false };
    this.loops.set(key, fresh);
    void this.round(key, fresh);
  }

  health(key: string, endpoint: string): TargetHealth | undefined {
    return this.loops.get(key)?.healths.get(endpoint);
  }

  remove(key: string): void {
    const loop = this.loops.get(key);
    if (!loop) return;
    loop.stopped = true;
    clearTimeout(loop.timer);
    this.loops.delete(key);
  }

  stopAll(): void {
    for (const key of [...this.loops.keys()]) this.remove(key);
  }

  private async probeOne(endpoint: string, plan: ProbePlan): Promise<ProbeResult> {
    try {
      const { host, port } = parseHostPort(endpoint);
      return await (this.o.probe ?? probeEndpoint)({
        host,
        port,
        user: plan.user,
        password: plan.password,
        timeoutMs: probeTimeoutMs(plan.intervalMs),
        tls: plan.tls,
      });
    } catch (err) {
      // A probe that throws (a bug, a bad address) is a failed probe; the loop must go on.
      return { ok: false, reason: 'CONNECTION_FAILED', message: (err as Error)?.message ?? String(err) };
    }
  }

  private async round(key: string, loop: Loop): Promise<void> {
    const plan = loop.plan;
    loop.probing = true;
    loop.again = false;
    const results = await Promise.all(plan.endpoints.map((e) => this.probeOne(e, plan)));
    loop.probing = false;
    if (loop.stopped) return;
    let changed = false;
    plan.endpoints.forEach((endpoint, i) => {
      if (!loop.plan.endpoints.includes(endpoint)) return; // dropped by a sync while probing
      const prev = loop.healths.get(endpoint);
      const next = nextHealth(prev ?? initialHealth(endpoint), results[i]!, loop.plan.failureThreshold);
      loop.healths.set(endpoint, next);
      this.o.onHealth?.(key, next);
      if (healthChanged(prev, next)) {
        changed = true;
        this.o.log.info({ dbproxy: key, endpoint, role: next.role, state: next.state, reason: next.reason }, 'target health changed');
      }
    });
    if (changed) this.o.onChange(key);
    const delay = loop.again ? 0 : roundDelayMs(writerUnsure([...loop.healths.values()]), loop.plan.intervalMs);
    loop.timer = setTimeout(() => void this.round(key, loop), delay);
    loop.timer.unref();
  }
}

/** The proxy's rule, for the writer these healths would pick: none, two (split brain), or one that missed a probe. */
function writerUnsure(healths: readonly TargetHealth[]): boolean {
  return writerInDoubt(healths, pickWriter(healths));
}
