/** The operator's Prometheus metrics (its own registry; served on --metrics-listen /metrics). */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export type ReconcileResult = 'success' | 'requeue' | 'error';

export class OperatorMetrics {
  readonly registry = new Registry();
  readonly reconcileTotal = new Counter({
    name: 'dbproxy_operator_reconcile_total',
    help: 'Reconciles by result.',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });
  readonly reconcileDuration = new Histogram({
    name: 'dbproxy_operator_reconcile_duration_seconds',
    help: 'Time one reconcile of one DBProxy took.',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly targetUp = new Gauge({
    name: 'dbproxy_operator_target_up',
    help: '1 when the target endpoint is AVAILABLE, else 0.',
    labelNames: ['dbproxy', 'endpoint'] as const,
    registers: [this.registry],
  });
  readonly isLeader = new Gauge({ name: 'dbproxy_operator_is_leader', help: '1 while this replica holds the leader Lease.', registers: [this.registry] });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
    for (const r of ['success', 'requeue', 'error'] as const) this.reconcileTotal.inc({ result: r }, 0);
    this.isLeader.set(0);
  }

  private readonly endpoints = new Map<string, Set<string>>();

  setTargetUp(dbproxy: string, endpoint: string, up: boolean): void {
    this.targetUp.set({ dbproxy, endpoint }, up ? 1 : 0);
    const set = this.endpoints.get(dbproxy) ?? new Set<string>();
    this.endpoints.set(dbproxy, set.add(endpoint));
  }

  /** Forget a deleted DBProxy's endpoints so its series stop being exported. */
  forgetDBProxy(dbproxy: string): void {
    for (const endpoint of this.endpoints.get(dbproxy) ?? []) this.targetUp.remove({ dbproxy, endpoint });
    this.endpoints.delete(dbproxy);
  }
}
